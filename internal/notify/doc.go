// Package notify tells people that a bbvault run failed (or, on request,
// succeeded): it POSTs a JSON event to each configured webhook URL, or a
// Slack-compatible {"text": ...} payload. Delivery is retried with
// exponential backoff (cenkalti/backoff) and bounded in total time; it
// never fails the run it reports: Send returns what went wrong for the
// caller to log as a warning. Secrets are redacted from every text the
// event carries, and the webhook URLs themselves (whose path is often the
// credential) never appear in errors.
package notify
