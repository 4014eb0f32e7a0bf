package bootstrap

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestRedactorString(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJl"
	redact := redactor{}.withSecret(bootstrapToken + "\n").withSecret(mintedToken).withSecret("ab")
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"bootstrap token", "token " + bootstrapToken + " rejected", "token <redacted> rejected"},
		{"minted token", `"token":"` + mintedToken + `"`, `"token":"<redacted>"`},
		{"JWT of unknown origin", "got " + jwt + " back", "got <redacted> back"},
		{"authorization header", "Authorization: Bearer s3cr3t-value", "Authorization: Bearer <redacted>"},
		{"basic credentials", "auth was: Basic YWRtaW46UEFTU1dELVNFQ1JFVC01NTU=", "auth was: Basic <redacted>"},
		{"token field", `{"status":{"token":"opaque-value"}}`, `{"status":{"token":"<redacted>"}}`},
		{"short secrets ignored", "ab is a word", "ab is a word"},
		{"prose about bearer tokens kept", "invalid bearer token, token has expired; renew it", "invalid bearer token, token has expired; renew it"},
		{"host names kept", "https://api.example.com:6443 authentication.k8s.io/v1", "https://api.example.com:6443 authentication.k8s.io/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact.String(tt.input); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.input, got, tt.want)
			}
		})
	}
}

func TestErrorFormatting(t *testing.T) {
	cause := &fs.PathError{Op: "open", Path: "/t", Err: fs.ErrNotExist}
	tests := []struct {
		name        string
		err         *Error
		wantText    string
		wantCode    int
		wantIsCause bool
	}{
		{
			name:        "Usagef wraps with %w",
			err:         Usagef("cannot read %s: %w", "/t", cause),
			wantText:    "cannot read /t: open /t: file does not exist",
			wantCode:    ExitUsage,
			wantIsCause: true,
		},
		{
			name:     "Usagef without a cause",
			err:      Usagef("bad flag %q", "x"),
			wantText: `bad flag "x"`,
			wantCode: ExitUsage,
		},
		{
			name:        "Message hides Err",
			err:         &Error{Code: ExitForbidden, Message: "forbidden", Err: cause},
			wantText:    "forbidden",
			wantCode:    ExitForbidden,
			wantIsCause: true,
		},
		{
			name:        "zero code means failure",
			err:         &Error{Err: cause},
			wantText:    "open /t: file does not exist",
			wantCode:    ExitFailure,
			wantIsCause: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.wantText {
				t.Errorf("Error() = %q, want %q", got, tt.wantText)
			}
			if got := tt.err.ExitCode(); got != tt.wantCode {
				t.Errorf("ExitCode() = %d, want %d", got, tt.wantCode)
			}
			if got := errors.Is(tt.err, fs.ErrNotExist); got != tt.wantIsCause {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %t, want %t", got, tt.wantIsCause)
			}
		})
	}
}

func TestRBACGrantHint(t *testing.T) {
	tests := []struct {
		name          string
		serverMessage string
		wantSubject   string
	}{
		{"service account user", `User "system:serviceaccount:ops:minter" cannot create resource`, "--serviceaccount=ops:minter"},
		{"human user", `User "jane@example.com" cannot create resource`, "--user=jane@example.com"},
		{"user needing quotes", `User "CN=jane doe" cannot create resource`, `--user='CN=jane doe'`},
		{"unparsable message", "forbidden", "--user=BOOTSTRAP_USER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hint := rbacGrantHint("team-a", "deployer", tt.serverMessage)

			wantRole := "kubectl create role kube-sa-token-deployer --verb=create --resource=serviceaccounts/token --resource-name=deployer -n team-a"
			if !strings.Contains(hint, wantRole) {
				t.Errorf("hint lacks %q:\n%s", wantRole, hint)
			}
			wantBinding := "kubectl create rolebinding kube-sa-token-deployer --role=kube-sa-token-deployer " + tt.wantSubject + " -n team-a"
			if !strings.Contains(hint, wantBinding) {
				t.Errorf("hint lacks %q:\n%s", wantBinding, hint)
			}
		})
	}
}
