package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"bbvault/internal/bitbucket"
	"bbvault/internal/flow"
	"bbvault/test/standin"
)

// jsonOf runs the CLI with --json, wants exit 0 and returns the JSON.
func jsonOf(t *testing.T, env map[string]string, args ...string) any {
	t.Helper()
	stdout, stderr, code := runCLI(t, env, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("bbvault %v: exit %d: %s", args, code, stderr)
	}
	var v any
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("bbvault %v --json printed no JSON: %v\n%s", args, err, stdout)
	}
	return v
}

// TestJSONOfOpsCommands pins the --json output of version, config show,
// config keys and unlock.
func TestJSONOfOpsCommands(t *testing.T) {
	env := map[string]string{"BBVAULT_CACHE_DIR": t.TempDir(), "BBVAULT_REPOSITORY": "/srv/bbvault",
		"XDG_STATE_HOME": t.TempDir()}
	assertShape(t, "version", jsonOf(t, env, "version"), shape{"version": "string", "go": "string", "platform": "string"})
	show := asObject(t, "config show", jsonOf(t, env, "config", "show", "snapshot"))
	assertShape(t, "config show", show, shape{"config_file": "string", "command": "string", "settings": "array"})
	settingShape := shape{"key": "string", "value": "string", "source": "string", "from": "string"}
	for _, s := range asList(t, "config show settings", show["settings"], -1) {
		if m := asObject(t, "setting", s); m["key"] == "repository" && (m["value"] != "/srv/bbvault" || m["source"] != "env") {
			t.Errorf("config show: repository %v", m)
		}
		if m := s.(map[string]any); jsonType(m["value"]) == "array" || m["value"] == nil {
			continue
		}
		assertSubShape(t, "setting", s, settingShape, "key", "value", "source")
	}
	for _, k := range asList(t, "config keys", jsonOf(t, env, "config", "keys"), -1) {
		assertSubShape(t, "config key", k, shape{"key": "string", "flag": "string", "env": "array", "commands": "array",
			"value": "string", "supplies": "string"}, "key", "flag", "env", "commands", "value")
	}
	checkUnlockJSON(t, env)
}

// checkUnlockJSON locks the stand-in as a killed run would have, then
// unlocks it with the recorded token.
func checkUnlockJSON(t *testing.T, env map[string]string) {
	srv := standin.New(standin.Options{User: "admin", Password: "pw"})
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := bitbucket.New(bitbucket.Options{BaseURL: srv.URL(), User: "admin", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	li, err := c.Lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	sf := flow.StateFile{Path: filepath.Join(state, "bitbucket-lock.json")}
	if err := sf.Save(flow.LockState{BaseURL: srv.URL(), UnlockToken: li.UnlockToken, LockedAt: time.Now(), Host: "h", PID: 1}); err != nil {
		t.Fatal(err)
	}
	env["BBVAULT_STATE_DIR"], env["BITBUCKET_USER"], env["BITBUCKET_PASSWORD"] = state, "admin", "pw"
	out := asObject(t, "unlock", jsonOf(t, env, "unlock"))
	assertShape(t, "unlock", out, shape{"unlocked": "bool", "url": "string", "state_removed": "bool"})
	if out["unlocked"] != true || out["state_removed"] != true || srv.Locked() {
		t.Errorf("unlock --json = %v; the stand-in is locked: %v", out, srv.Locked())
	}
}
