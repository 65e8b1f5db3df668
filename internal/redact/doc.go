// Package redact hides secrets in text that leaves the process: error
// messages sent to webhooks, settings printed by `config show`, URLs in
// warnings. It masks the secret values a caller names, the password part of
// URLs (user:pass@), query parameters and key=value pairs whose names say
// they hold a secret (token, password, signature, ...), and, on request, the
// path of webhook URLs whose path is itself the credential.
package redact
