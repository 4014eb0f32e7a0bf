package plugin

import (
	"bytes"
	"strings"
	"testing"
)

func TestRedactorRemovesSecrets(t *testing.T) {
	var buf bytes.Buffer
	r := NewRedactor(&buf)
	r.AddSecret("FAKEBOOT.abcdef0123456789")
	r.AddSecret("   ")
	r.AddSecret("x") // too short to redact without mangling "expires"

	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	line := "bootstrap FAKEBOOT.abcdef0123456789 and unregistered " + jwt + " expires\n"
	n, err := r.Write([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if n != len(line) {
		t.Errorf("Write() = %d, want %d", n, len(line))
	}
	got := buf.String()
	if strings.Contains(got, "FAKEBOOT") {
		t.Errorf("registered secret not redacted: %q", got)
	}
	if strings.Contains(got, jwt) {
		t.Errorf("JWT not redacted: %q", got)
	}
	if want := "bootstrap <redacted> and unregistered <redacted> expires\n"; got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

func TestLoggerLevels(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(NewRedactor(&buf), 2)
	log.Logf(2, "shown %d", 2)
	log.Logf(3, "hidden %d", 3)
	log.Warnf("always %s", "shown")
	want := "kube-sa-token: shown 2\nkube-sa-token: warning: always shown\n"
	if buf.String() != want {
		t.Errorf("log output = %q, want %q", buf.String(), want)
	}
}
