package bitbucket_test

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bbvault/internal/bitbucket"
	"bbvault/test/standin"
)

func TestNewRejectsBadOptions(t *testing.T) {
	ok := bitbucket.Options{BaseURL: "https://bitbucket.example.com", User: "u", Password: "p"}
	for _, tc := range []struct {
		name string
		edit func(*bitbucket.Options)
		want string // part of the error that tells what to fix
	}{
		{"no URL", func(o *bitbucket.Options) { o.BaseURL = "" }, "base URL is empty"},
		{"no scheme", func(o *bitbucket.Options) { o.BaseURL = "bitbucket.example.com" }, "http:// or https://"},
		{"credentials in URL", func(o *bitbucket.Options) { o.BaseURL = "https://u:hunter2@bb.example.com" }, "holds credentials"},
		{"query in URL", func(o *bitbucket.Options) { o.BaseURL = "https://bb.example.com/?x=1" }, "query"},
		{"no credentials", func(o *bitbucket.Options) { o.User, o.Password = "", "" }, "no credentials"},
		{"no password", func(o *bitbucket.Options) { o.Password = "" }, "password of user"},
		{"missing CA file", func(o *bitbucket.Options) { o.CAFile = filepath.Join(t.TempDir(), "none.pem") }, "CA file"},
		{"client and CA file", func(o *bitbucket.Options) { o.HTTPClient, o.CAFile = http.DefaultClient, "ca.pem" }, "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := ok
			tc.edit(&opts)
			_, err := bitbucket.New(opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v; want an error about %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
	if _, err := bitbucket.New(ok); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

func TestCAFile(t *testing.T) {
	ts := httptest.NewTLSServer(standin.New(standin.Options{User: testUser, Password: testPassword}))
	defer ts.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	untrusting := newClient(t, ts.URL)
	if _, err := untrusting.Version(t.Context()); err == nil || !strings.Contains(err.Error(), "cannot reach Bitbucket") {
		t.Fatalf("without the CA: %v; want a certificate error", err)
	}
	trusting := newClient(t, ts.URL, func(o *bitbucket.Options) { o.CAFile = caFile })
	if _, err := trusting.Version(t.Context()); err != nil {
		t.Fatalf("with the CA file: %v", err)
	}

	notPEM := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(notPEM, []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := bitbucket.New(bitbucket.Options{BaseURL: ts.URL, User: "u", Password: "p", CAFile: notPEM})
	if err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a CA file without certificates: %v", err)
	}
}

// A proxy or login page that redirects is reported, not followed.
func TestRedirectNotFollowed(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://sso.example.com/login?token=abc", http.StatusFound)
	}))
	defer ts.Close()
	c := newClient(t, ts.URL)
	_, err := c.Lock(t.Context())
	var ae *bitbucket.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusFound || !strings.Contains(err.Error(), "sso.example.com") {
		t.Fatalf("Lock behind a redirect: %v; want a 302 naming where it points", err)
	}
	if strings.Contains(err.Error(), "may have been locked") || strings.Contains(err.Error(), "token=abc") {
		t.Errorf("Lock behind a redirect: %q", err)
	}
}

// Bitbucket's own messages are passed on, but never with a secret in them.
func TestErrorMessagesScrubbed(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"errors":[{"message":"token %s refused for %s with %s"}]}`, r.URL.Query().Get("token"), user, pass)
	}))
	defer ts.Close()
	c := newClient(t, ts.URL)
	const token = "tok-9f8e7d6c5b"
	err := c.Progress(t.Context(), token, 40)
	var ae *bitbucket.APIError
	if !errors.As(err, &ae) || !strings.Contains(ae.Message, "refused for "+testUser) {
		t.Fatalf("Progress: %v; want Bitbucket's message", err)
	}
	if msg := err.Error(); strings.Contains(msg, token) || strings.Contains(msg, testPassword) {
		t.Errorf("the error shows a secret: %q", msg)
	}
}

// Debug logs of a whole backup hold neither the password nor the tokens.
func TestLogsHoldNoSecrets(t *testing.T) {
	srv := startStandin(t, standin.Options{Faults: []standin.Fault{{Step: standin.StepProgress, Status: 500, Times: 1}}})
	var logs bytes.Buffer
	c := newClient(t, srv.URL(), func(o *bitbucket.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	lock, backup := lockAndStart(t, c)
	if _, err := c.WaitDrained(t.Context(), lock.UnlockToken, 5*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Progress(t.Context(), lock.UnlockToken, 50); err != nil {
		t.Fatal(err)
	}
	if err := c.Unlock(t.Context(), lock.UnlockToken); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "token=REDACTED") || !strings.Contains(logs.String(), "retrying") {
		t.Fatalf("the logs lack the requests and the retry:\n%s", logs.String())
	}
	for _, secret := range []string{testPassword, lock.UnlockToken, backup.CancelToken} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs show a secret:\n%s", logs.String())
		}
	}
}

// An anonymous client (zero-downtime mode needs only the version) probes
// the version and sends no credentials; anything else Bitbucket refuses.
func TestAnonymousClientProbesOnly(t *testing.T) {
	srv := startStandin(t, standin.Options{Version: "4.8.0"})
	c, err := bitbucket.New(bitbucket.Options{BaseURL: srv.URL(), Anonymous: true, Sleep: quickSleep})
	if err != nil {
		t.Fatalf("New without credentials: %v", err)
	}
	info, err := c.Version(t.Context())
	if err != nil || info.CheckZeroDowntime() != nil {
		t.Fatalf("version %+v, %v: want 4.8.0, allowed without the lock", info, err)
	}
	if _, err := c.Lock(t.Context()); !bitbucket.IsUnauthorized(err) {
		t.Fatalf("an anonymous lock: %v; want 401", err)
	}
	if srv.Locked() {
		t.Fatal("an anonymous client locked the instance")
	}
}
