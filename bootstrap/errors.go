package bootstrap

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// Exit codes, shared by the whole program (documented in README and --help).
const (
	ExitFailure      = 1 // any other failure
	ExitUsage        = 2 // invalid input or usage (also a 400, 409 or 422 response to the TokenRequest)
	ExitUnauthorized = 3 // bootstrap credentials rejected (401)
	ExitForbidden    = 4 // 403
	ExitNotFound     = 5 // 404: service account or bound object (the message names which)
	ExitUnreachable  = 6 // API server unreachable or timed out
)

// Error is a failure with an exit code.
//
// Message is the complete text for the user: what failed, on which value, the
// cause and the fix. Every constructor in this package builds it from redacted
// text, so it never contains a token. Err is the underlying cause, kept for
// errors.Is and errors.As. Error() prints Err only when Message is empty,
// because Err's text may come from client-go or the server and is not redacted.
type Error struct {
	Code    int
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Message == "" && e.Err != nil {
		return e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// ExitCode returns Code, or ExitFailure when Code is unset.
func (e *Error) ExitCode() int {
	if e.Code == 0 {
		return ExitFailure
	}
	return e.Code
}

// Usagef formats a usage error (ExitUsage). A %w verb in format wraps its
// argument as Err. The caller must not pass a token in args.
func Usagef(format string, args ...any) *Error {
	return newErrorf(ExitUsage, format, args...)
}

func newErrorf(code int, format string, args ...any) *Error {
	formatted := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: formatted.Error(), Err: errors.Unwrap(formatted)}
}

// MinSecretLength is the length below which a secret is not redacted by
// value: replacing every "x" or "admin" would mangle all output, and real
// bearer tokens are far longer. Token-shaped text is redacted by pattern
// whatever its length.
const MinSecretLength = 8

// redactor removes secrets from text that is about to reach a message, a
// warning or a log line.
type redactor struct {
	secrets []string // exact values: the bootstrap token, a minted token once known
}

// redactPatterns are compiled on first use, because package init runs on
// every cache hit and only failures need them.
var redactPatterns = sync.OnceValue(func() (p struct{ jwt, bearer, basic, tokenField *regexp.Regexp }) {
	// jwt matches a JSON Web Token: its header is base64url of `{"`,
	// which always starts with "eyJ".
	p.jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)?`)

	// bearer matches an Authorization header value or a curl -H argument:
	// the scheme as HTTP writes it and a credential of at least 8 characters,
	// so prose such as "invalid bearer token" is left alone.
	p.bearer = regexp.MustCompile(`\bBearer\s+[A-Za-z0-9._~+/=-]{8,}`)

	// basic matches HTTP Basic credentials, the base64 of user:password.
	p.basic = regexp.MustCompile(`\bBasic\s+[A-Za-z0-9+/]{8,}={0,2}`)

	// tokenField matches a "token" JSON field, such as status.token in a
	// TokenRequest body or an ExecCredential.
	p.tokenField = regexp.MustCompile(`(?i)("token"\s*:\s*")[^"]*`)
	return p
})

const redacted = "<redacted>"

// withSecret returns a copy of r that also removes secret. Values shorter than
// 4 bytes are ignored, because replacing them would garble ordinary words.
func (r redactor) withSecret(secret string) redactor {
	secret = strings.TrimSpace(secret)
	if len(secret) < MinSecretLength {
		return r
	}
	return redactor{secrets: append(append([]string(nil), r.secrets...), secret)}
}

// String removes every known secret and anything shaped like a token from text.
func (r redactor) String(text string) string {
	for _, secret := range r.secrets {
		text = strings.ReplaceAll(text, secret, redacted)
	}
	patterns := redactPatterns()
	text = patterns.jwt.ReplaceAllString(text, redacted)
	text = patterns.bearer.ReplaceAllString(text, "Bearer "+redacted)
	text = patterns.basic.ReplaceAllString(text, "Basic "+redacted)
	text = patterns.tokenField.ReplaceAllString(text, "${1}"+redacted)
	return text
}

// errorText returns err's text, redacted, or "" for a nil error.
func (r redactor) errorText(err error) string {
	if err == nil {
		return ""
	}
	return r.String(err.Error())
}
