package notify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var end = time.Date(2026, 12, 1, 2, 3, 4, 0, time.UTC)

func failure() Event {
	return Event{
		Command: "snapshot", Host: "bb-node1", ExitCode: 6, Start: end.Add(-90 * time.Second), End: end,
		Err: errors.New(`bitbucket: lock refused for admin (password hunter2) at ` +
			`https://admin:hunter2@bb.example.com/mvc/maintenance?token=abc123`),
		LockWindow: 1500 * time.Millisecond, Phases: map[string]time.Duration{"pre_lock_pass": 80 * time.Second},
	}
}

// receiver records the bodies it is sent and answers with statuses in
// turn (the last one repeats).
type receiver struct {
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	statuses []int
	srv      *httptest.Server
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, body)
		r.headers = append(r.headers, req.Header.Clone())
		status := r.statuses[min(len(r.bodies), len(r.statuses))-1]
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

func (r *receiver) last(t *testing.T) map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var m map[string]any
	if err := json.Unmarshal(r.bodies[len(r.bodies)-1], &m); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	return m
}

func notifier(t *testing.T, opts Options) *Notifier {
	t.Helper()
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestJSONEventRedacted(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	n := notifier(t, Options{URLs: []string{rcv.srv.URL + "/hook"}, Secrets: []string{"hunter2"}, Version: "1.2.3"})
	if err := n.Send(context.Background(), failure()); err != nil {
		t.Fatal(err)
	}
	m := rcv.last(t)
	want := map[string]any{"event": "failure", "command": "snapshot", "host": "bb-node1", "exit_code": 6.0,
		"time": "2026-12-01T02:03:04Z", "duration_ms": 90000.0, "lock_window_ms": 1500.0, "version": "1.2.3"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if phases, _ := m["phases_ms"].(map[string]any); phases["pre_lock_pass"] != 80000.0 {
		t.Errorf("phases_ms = %v", m["phases_ms"])
	}
	for _, field := range []string{"error", "text"} {
		s, _ := m[field].(string)
		if strings.Contains(s, "hunter2") || strings.Contains(s, "abc123") {
			t.Errorf("%s leaks a secret: %q", field, s)
		}
		if !strings.Contains(s, "lock refused for admin") {
			t.Errorf("%s lost the message: %q", field, s)
		}
	}
	if !strings.HasPrefix(m["text"].(string), "bbvault snapshot on bb-node1 failed (exit 6) after 1m30s, Bitbucket locked 1500 ms:") {
		t.Errorf("text = %q", m["text"])
	}
	if rcv.headers[0].Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", rcv.headers[0].Get("Content-Type"))
	}
}

func TestSlackPayloadIsOnlyText(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	n := notifier(t, Options{URLs: []string{rcv.srv.URL}, Format: Slack, OnSuccess: true})
	ok := Event{Command: "prune", Host: "h", Snapshot: "", Start: end.Add(-time.Second), End: end}
	if err := n.Send(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	m := rcv.last(t)
	if len(m) != 1 || m["text"] != "bbvault prune on h succeeded after 1s" {
		t.Errorf("slack payload = %v", m)
	}
}

func TestSuccessOnlyWhenAsked(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	ok := Event{Command: "check", Host: "h", Start: end, End: end}
	if err := notifier(t, Options{URLs: []string{rcv.srv.URL}}).Send(context.Background(), ok); err != nil || rcv.count() != 0 {
		t.Errorf("success sent without OnSuccess: %v, %d requests", err, rcv.count())
	}
	if err := notifier(t, Options{URLs: []string{rcv.srv.URL}, OnSuccess: true}).Send(context.Background(), ok); err != nil || rcv.count() != 1 {
		t.Errorf("success with OnSuccess: %v, %d requests", err, rcv.count())
	}
	if rcv.last(t)["event"] != "success" {
		t.Errorf("event = %v", rcv.last(t)["event"])
	}
}

func TestRetriesUntilDelivered(t *testing.T) {
	rcv := newReceiver(t, http.StatusBadGateway, http.StatusTooManyRequests, http.StatusNoContent)
	n := notifier(t, Options{URLs: []string{rcv.srv.URL}})
	if err := n.Send(context.Background(), failure()); err != nil {
		t.Fatalf("delivered on the third attempt, yet: %v", err)
	}
	if rcv.count() != 3 {
		t.Errorf("%d attempts, want 3", rcv.count())
	}
}

func TestGivesUpOnFinalAnswerAndWithinBound(t *testing.T) {
	rejecting := newReceiver(t, http.StatusNotFound)
	failing := newReceiver(t, http.StatusInternalServerError)
	secretURL := failing.srv.URL + "/services/T0/B0/XXXXSECRET"
	n := notifier(t, Options{URLs: []string{rejecting.srv.URL, secretURL}, MaxElapsed: 2 * time.Second})
	start := time.Now()
	err := n.Send(context.Background(), failure())
	took := time.Since(start)
	if err == nil {
		t.Fatal("no error when no delivery succeeded")
	}
	if rejecting.count() != 1 {
		t.Errorf("a 404 was retried: %d attempts", rejecting.count())
	}
	if failing.count() < 2 {
		t.Errorf("a 500 was not retried: %d attempts", failing.count())
	}
	if took > 8*time.Second {
		t.Errorf("gave up after %v, want about MaxElapsed (2s)", took)
	}
	if strings.Contains(err.Error(), "XXXXSECRET") || !strings.Contains(err.Error(), "gave up after") {
		t.Errorf("error = %v", err)
	}
}

func TestDeliversAfterCancellation(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ev := failure()
	ev.ExitCode, ev.Err = 130, errors.New("interrupted")
	if err := notifier(t, Options{URLs: []string{rcv.srv.URL}}).Send(ctx, ev); err != nil || rcv.count() != 1 {
		t.Errorf("interrupted run not reported: %v, %d requests", err, rcv.count())
	}
}

func TestUnreachableURLGivesUp(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var calls atomic.Int32
	client := &http.Client{Transport: countingTransport{&calls}}
	n := notifier(t, Options{URLs: []string{url}, MaxElapsed: time.Second, Client: client})
	if err := n.Send(context.Background(), failure()); err == nil || calls.Load() < 2 {
		t.Errorf("unreachable: %v after %d attempts", err, calls.Load())
	}
}

type countingTransport struct{ n *atomic.Int32 }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestBadOptions(t *testing.T) {
	if _, err := New(Options{Format: "xml"}); err == nil {
		t.Error("format xml accepted")
	}
	_, err := New(Options{URLs: []string{"ftp://x/SECRET"}})
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("ftp URL: %v", err)
	}
}
