package redact

import (
	"strings"
	"testing"
)

func TestStringMasksSecretsAndCredentials(t *testing.T) {
	r := New("hunter2", "", "  ", "hunter2-long")
	cases := map[string]string{
		"login failed with password hunter2":               "login failed with password [redacted]",
		"token hunter2-long expired":                       "token [redacted] expired",
		`Post "https://bob:s3cr3t@hooks.example.com/x": x`: `Post "https://bob:[redacted]@hooks.example.com/x": x`,
		"GET https://api.example.com/v1?token=abc&page=2":  "GET https://api.example.com/v1?token=[redacted]&page=2",
		"dsn host=db password=pw123 sslmode=disable":       "dsn host=db password=[redacted] sslmode=disable",
		"dsn password='with space' user=x":                 "dsn password=[redacted] user=x",
		"https://s3/b/o?X-Amz-Signature=deadbeef&x=1":      "https://s3/b/o?X-Amz-Signature=[redacted]&x=1",
		"plain text with a monkey=banana pair":             "plain text with a monkey=banana pair",
		"http://user@host/path has no password":            "http://user@host/path has no password",
	}
	for in, want := range cases {
		if got := r.String(in); got != want {
			t.Errorf("String(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func TestNilRedactorStillMasksCredentials(t *testing.T) {
	var r *Redactor
	if got := r.String("http://a:b@h/"); got != "http://a:[redacted]@h/" {
		t.Errorf("got %q", got)
	}
}

func TestURL(t *testing.T) {
	cases := map[string]string{
		"https://user:pw@push.example.com:9091/":      "https://user:[redacted]@push.example.com:9091/",
		"https://push.example.com/?token=abc&job=x":   "https://push.example.com/?job=x&token=[redacted]",
		"s3://bucket/prefix":                          "s3://bucket/prefix",
		"/srv/bbvault":                                "/srv/bbvault",
		"postgres://bitbucket:pw@db:5432/bitbucket":   "postgres://bitbucket:[redacted]@db:5432/bitbucket",
		"host=db user=bitbucket password=pw dbname=b": "host=db user=bitbucket password=[redacted] dbname=b",
	}
	for in, want := range cases {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEndpointHidesWebhookPath(t *testing.T) {
	got := Endpoint("https://hooks.slack.com/services/T000/B000/XXXXSECRET")
	if got != "https://hooks.slack.com/[redacted]" || strings.Contains(got, "XXXX") {
		t.Errorf("Endpoint = %q", got)
	}
	if got := Endpoint("http://127.0.0.1:8080"); got != "http://127.0.0.1:8080" {
		t.Errorf("Endpoint without a path = %q", got)
	}
	if got := Endpoint("::not a url"); got != Mask {
		t.Errorf("Endpoint of garbage = %q", got)
	}
}

func TestHasPassword(t *testing.T) {
	yes := []string{"postgres://u:p@db/x", "https://u:p@h/", "host=db password=x", "https://h/?token=x"}
	no := []string{"postgres://u@db/x", "https://h/", "host=db user=u", "s3://bucket/prefix", "/srv/repo"}
	for _, s := range yes {
		if !HasPassword(s) {
			t.Errorf("HasPassword(%q) = false", s)
		}
	}
	for _, s := range no {
		if HasPassword(s) {
			t.Errorf("HasPassword(%q) = true", s)
		}
	}
}
