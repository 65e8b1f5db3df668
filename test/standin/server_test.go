package standin_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"bbvault/test/standin"
	"bbvault/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	user     = "sysadmin"
	password = "standin-pw-41"
)

func start(t *testing.T, opts standin.Options) *standin.Server {
	t.Helper()
	if opts.User == "" {
		opts.User, opts.Password = user, password
	}
	srv := standin.New(opts)
	if err := srv.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv
}

// request is one raw HTTP call, so that the stand-in is checked against the
// protocol document and not against bbvault's client.
type request struct {
	method, path string
	token        string // X-Atlassian-Maintenance-Token
	auth         func(*http.Request)
}

func basic(r *http.Request) { r.SetBasicAuth(user, password) }

// send returns the status and the decoded JSON body (nil when empty).
func send(t *testing.T, srv *standin.Server, rq request) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), rq.method, srv.URL()+rq.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rq.auth != nil {
		rq.auth(req)
	}
	if rq.token != "" {
		req.Header.Set("X-Atlassian-Maintenance-Token", rq.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %q", rq.method, rq.path, raw)
		}
	}
	return resp.StatusCode, body
}

func expect(t *testing.T, srv *standin.Server, rq request, want int) map[string]any {
	t.Helper()
	got, body := send(t, srv, rq)
	if got != want {
		t.Fatalf("%s %s answered %d (%v), want %d", rq.method, rq.path, got, body, want)
	}
	return body
}

func TestLockAndMaintenancePages(t *testing.T) {
	srv := start(t, standin.Options{})
	pages := []string{"/projects", "/scm/proj/repo.git/info/refs"}
	for _, p := range pages {
		expect(t, srv, request{method: "GET", path: p}, 200)
	}
	body := expect(t, srv, request{method: "POST", path: "/mvc/maintenance/lock", auth: basic}, 202)
	token, _ := body["unlockToken"].(string)
	owner, _ := body["owner"].(map[string]any)
	if token == "" || owner["name"] != user {
		t.Fatalf("lock answer %v: want an unlockToken and owner.name %q", body, user)
	}
	for _, p := range pages {
		expect(t, srv, request{method: "GET", path: p}, 503)
	}
	expect(t, srv, request{method: "POST", path: "/mvc/maintenance/lock", auth: basic}, 409)
	expect(t, srv, request{method: "DELETE", path: "/mvc/maintenance/lock?token=wrong", auth: basic}, 403)
	expect(t, srv, request{method: "DELETE", path: "/mvc/maintenance/lock?token=" + token, auth: basic}, 202)
	expect(t, srv, request{method: "DELETE", path: "/mvc/maintenance/lock?token=" + token, auth: basic}, 409)
	for _, p := range pages {
		expect(t, srv, request{method: "GET", path: p}, 200)
	}
	if w := srv.LockWindows(); len(w) != 1 || srv.Locked() {
		t.Errorf("after one lock and unlock: windows %v, locked %v", w, srv.Locked())
	}
}

func TestAuthentication(t *testing.T) {
	const token = "BBDC-abcdef"
	srv := start(t, standin.Options{User: user, Password: password, Token: token})
	for name, auth := range map[string]func(*http.Request){
		"none":         nil,
		"bad password": func(r *http.Request) { r.SetBasicAuth(user, "nope") },
		"bad user":     func(r *http.Request) { r.SetBasicAuth("other", password) },
		"bad token":    func(r *http.Request) { r.Header.Set("Authorization", "Bearer BBDC-zzz") },
	} {
		if got, _ := send(t, srv, request{method: "GET", path: "/mvc/maintenance", auth: auth}); got != 401 {
			t.Errorf("%s: status %d, want 401", name, got)
		}
	}
	expect(t, srv, request{method: "GET", path: "/mvc/maintenance", auth: basic}, 200)
	expect(t, srv, request{method: "GET", path: "/mvc/maintenance", auth: func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+token)
	}}, 200)
	body := expect(t, srv, request{method: "GET", path: "/rest/api/1.0/application-properties"}, 200)
	if body["version"] != "8.19.1" || body["buildNumber"] != "8019001" {
		t.Errorf("version probe %v", body)
	}
}

// The backup task: drains, takes progress, completes at 100 and un-latches,
// or ends by its cancel token; the lock stays until unlocked.
func TestBackupTask(t *testing.T) {
	srv := start(t, standin.Options{DBDrainTime: 20 * time.Millisecond, SCMDrainTime: 60 * time.Millisecond})
	lock := expect(t, srv, request{method: "POST", path: "/mvc/maintenance/lock", auth: basic}, 202)
	tok := lock["unlockToken"].(string)
	expect(t, srv, request{method: "POST", path: "/mvc/admin/backups?external=true", auth: basic}, 403)
	expect(t, srv, request{method: "POST", path: "/mvc/admin/backups?external=true", auth: basic, token: "wrong"}, 403)
	expect(t, srv, request{method: "POST", path: "/mvc/admin/backups", auth: basic, token: tok}, 400)
	backup := expect(t, srv, request{method: "POST", path: "/mvc/admin/backups?external=true", auth: basic, token: tok}, 202)
	if backup["state"] != "RUNNING" || backup["cancelToken"] == nil || backup["id"] == nil || backup["progress"] == nil {
		t.Fatalf("backup answer %v", backup)
	}
	expect(t, srv, request{method: "POST", path: "/mvc/admin/backups?external=true", auth: basic, token: tok}, 409)

	st := expect(t, srv, request{method: "GET", path: "/mvc/maintenance", auth: basic, token: tok}, 200)
	if st["db-state"] != "DRAINING" || st["scm-state"] != "DRAINING" || st["task"].(map[string]any)["state"] != "RUNNING" {
		t.Errorf("status right after the start: %v; want both DRAINING and the task RUNNING", st)
	}
	time.Sleep(40 * time.Millisecond)
	st = expect(t, srv, request{method: "GET", path: "/mvc/maintenance", auth: basic, token: tok}, 200)
	if st["db-state"] != "DRAINED" || st["scm-state"] != "DRAINING" {
		t.Errorf("status between the two drain times: %v; want the database drained first", st)
	}
	progress := "/mvc/admin/backups/progress/client?token=" + tok + "&percentage="
	expect(t, srv, request{method: "POST", path: progress + "50", auth: basic}, 202)
	expect(t, srv, request{method: "POST", path: progress + "101", auth: basic}, 400)
	expect(t, srv, request{method: "POST", path: "/mvc/admin/backups/progress/client?token=x&percentage=60", auth: basic}, 403)
	expect(t, srv, request{method: "POST", path: progress + "100", auth: basic}, 202)
	st = expect(t, srv, request{method: "GET", path: "/mvc/maintenance", auth: basic, token: tok}, 200)
	if st["db-state"] != "AVAILABLE" || st["task"].(map[string]any)["state"] != "SUCCESSFUL" || !srv.Locked() {
		t.Errorf("status after 100%%: %v (locked %v); want un-latched, SUCCESSFUL, still locked", st, srv.Locked())
	}

	backup = expect(t, srv, request{method: "POST", path: "/mvc/admin/backups?external=true", auth: basic, token: tok}, 202)
	expect(t, srv, request{method: "POST", path: "/mvc/maintenance?token=" + tok, auth: basic}, 403)
	expect(t, srv, request{method: "POST", path: "/mvc/maintenance?token=" + backup["cancelToken"].(string), auth: basic}, 202)
	st = expect(t, srv, request{method: "GET", path: "/mvc/maintenance", auth: basic, token: tok}, 200)
	if st["task"].(map[string]any)["state"] != "CANCELLED" || !srv.Locked() {
		t.Errorf("status after a cancel: %v; want CANCELLED and still locked", st)
	}
}

func TestFaultDisarmsAfterTimes(t *testing.T) {
	srv := start(t, standin.Options{})
	srv.SetFault(standin.Fault{Step: standin.StepVersion, Status: 500, Times: 2})
	probe := request{method: "GET", path: "/rest/api/1.0/application-properties"}
	expect(t, srv, probe, 500)
	expect(t, srv, probe, 500)
	expect(t, srv, probe, 200)
	srv.SetFault(standin.Fault{Step: standin.StepVersion, Status: 502})
	for range 3 {
		expect(t, srv, probe, 502)
	}
	srv.ClearFaults()
	expect(t, srv, probe, 200)
}

func TestListensOnLoopbackOnly(t *testing.T) {
	srv := standin.New(standin.Options{Addr: "0.0.0.0:0"})
	if err := srv.Start(t.Context()); err == nil {
		srv.Close()
		t.Fatal("the stand-in listened on every interface")
	}
}

// How GET /mvc/maintenance answers without the token is a switch; with the
// token, under a lock, every switch answers the status.
func TestUnlockedAnswers(t *testing.T) {
	for _, c := range []struct {
		answer standin.UnlockedAnswer
		status int
		says   string
	}{
		{standin.UnlockedAvailable, 200, "AVAILABLE"},
		{standin.UnlockedTokenRequired, 403, "X-Atlassian-Maintenance-Token header is required"},
		{standin.UnlockedNotFound, 404, ""},
	} {
		t.Run(c.answer.String(), func(t *testing.T) {
			srv := start(t, standin.Options{Unlocked: c.answer})
			body := expect(t, srv, request{method: "GET", path: "/mvc/maintenance", auth: basic}, c.status)
			if got := fmt.Sprint(body); !strings.Contains(got, c.says) {
				t.Errorf("answer %v does not say %q", got, c.says)
			}
			if got, _ := send(t, srv, request{method: "GET", path: "/mvc/maintenance"}); got != 401 {
				t.Errorf("without credentials: %d, want 401 first", got)
			}
			lock := expect(t, srv, request{method: "POST", path: "/mvc/maintenance/lock", auth: basic}, 202)
			st := expect(t, srv, request{method: "GET", path: "/mvc/maintenance", auth: basic, token: lock["unlockToken"].(string)}, 200)
			if st["db-state"] != "AVAILABLE" {
				t.Errorf("status with the token under the lock: %v", st)
			}
		})
	}
}

// An account without SYSADMIN logs in but is refused, naming the
// permission; the administration API lists the system administrator.
func TestPermissions(t *testing.T) {
	srv := start(t, standin.Options{User: user, Password: password, NonAdmins: map[string]string{"dev": "dev-pw"}})
	dev := func(r *http.Request) { r.SetBasicAuth("dev", "dev-pw") }
	for _, rq := range []request{
		{method: "GET", path: "/mvc/maintenance", auth: dev},
		{method: "POST", path: "/mvc/maintenance/lock", auth: dev},
		{method: "GET", path: "/rest/api/1.0/admin/permissions/users", auth: dev},
	} {
		body := expect(t, srv, rq, 403)
		if !strings.Contains(fmt.Sprint(body), "SYS_ADMIN") {
			t.Errorf("%s %s: %v does not name the permission", rq.method, rq.path, body)
		}
	}
	if got, _ := send(t, srv, request{method: "GET", path: "/mvc/maintenance",
		auth: func(r *http.Request) { r.SetBasicAuth("dev", "wrong") }}); got != 401 {
		t.Errorf("a non-admin with a wrong password: %d, want 401", got)
	}
	body := expect(t, srv, request{method: "GET", path: "/rest/api/1.0/admin/permissions/users?filter=" + user, auth: basic}, 200)
	values, _ := body["values"].([]any)
	if len(values) != 1 || values[0].(map[string]any)["permission"] != "SYS_ADMIN" {
		t.Errorf("admin permissions: %v", body)
	}
	if srv.Locked() {
		t.Error("a non-admin locked the instance")
	}
}

// CancelBackup ends the task as an administrator's click does; the lock stays.
func TestCancelBackupFromTheUI(t *testing.T) {
	srv := start(t, standin.Options{})
	if srv.CancelBackup() {
		t.Error("CancelBackup with no backup running reported a cancel")
	}
	lock := expect(t, srv, request{method: "POST", path: "/mvc/maintenance/lock", auth: basic}, 202)
	tok := lock["unlockToken"].(string)
	expect(t, srv, request{method: "POST", path: "/mvc/admin/backups?external=true", auth: basic, token: tok}, 202)
	if !srv.CancelBackup() {
		t.Fatal("CancelBackup did not see the running backup")
	}
	st := expect(t, srv, request{method: "GET", path: "/mvc/maintenance", auth: basic, token: tok}, 200)
	if st["task"].(map[string]any)["state"] != "CANCELLED" || !srv.Locked() {
		t.Errorf("after the cancel: %v, locked %v", st, srv.Locked())
	}
}
