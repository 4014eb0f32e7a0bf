package plugin

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"sync"

	"k8s.io/klog/v2"

	"github.com/kube-sa-token/kube-sa-token/bootstrap"
)

// redacted replaces every secret in text written through a Redactor.
const redacted = "<redacted>"

// jwtPattern matches a compact JWS: three base64url segments, the first of
// which is a JSON header ("eyJ" is the encoding of `{"`). ServiceAccount
// tokens have this shape, so one that was never registered is still caught.
// It is compiled on first use to keep package init off the cache-hit path.
var jwtPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)
})

// Redactor is an io.Writer for stderr that removes registered secrets and
// anything shaped like a JWT before passing text on. Each Write is redacted
// on its own, so callers write whole lines; a secret split across two writes
// is not caught.
type Redactor struct {
	mu      sync.Mutex
	w       io.Writer
	secrets [][]byte
}

// NewRedactor returns a Redactor that writes to w.
func NewRedactor(w io.Writer) *Redactor {
	return &Redactor{w: w}
}

// AddSecret registers s for redaction. Values shorter than
// bootstrap.MinSecretLength after trimming white space are ignored.
func (r *Redactor) AddSecret(s string) {
	s = string(bytes.TrimSpace([]byte(s)))
	if len(s) < bootstrap.MinSecretLength {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets = append(r.secrets, []byte(s))
}

// Redact returns s with every registered secret and JWT-shaped value replaced.
func (r *Redactor) Redact(s string) string {
	return string(r.redact([]byte(s)))
}

func (r *Redactor) redact(p []byte) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.secrets {
		p = bytes.ReplaceAll(p, s, []byte(redacted))
	}
	return jwtPattern().ReplaceAll(p, []byte(redacted))
}

// Write redacts p and writes it. It reports len(p) on success so callers that
// check the count are not confused by the changed length.
func (r *Redactor) Write(p []byte) (int, error) {
	if _, err := r.w.Write(r.redact(append([]byte(nil), p...))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Logger writes leveled diagnostics to stderr through a Redactor. Level 0 is
// for warnings that are always shown; -v raises the level shown.
type Logger struct {
	out   *Redactor
	level int
}

// NewLogger returns a Logger that shows messages up to level.
func NewLogger(out *Redactor, level int) *Logger {
	return &Logger{out: out, level: level}
}

// Logf writes one line when level is enabled. Never pass a secret: the
// redaction is a second line of defence, not the first.
func (l *Logger) Logf(level int, format string, args ...any) {
	if l == nil || level > l.level {
		return
	}
	fmt.Fprintf(l.out, "kube-sa-token: "+format+"\n", args...)
}

// Warnf writes one warning line, whatever the level.
func (l *Logger) Warnf(format string, args ...any) {
	if l == nil {
		return
	}
	fmt.Fprintf(l.out, "kube-sa-token: warning: "+format+"\n", args...)
}

// client-go's own logging starts at -v klogOffset+1 (klog level 1, which
// lists feature gates on every run) and stops at klog level klogMaxVerbosity:
// from level 8 client-go logs response bodies, and a TokenRequest response
// body contains the token.
const (
	klogOffset       = 4
	klogMaxVerbosity = 6
)

// configureKlog sends client-go's klog output through the Logger's redacting
// writer. Only the miss path calls it, because only the miss path runs
// client-go.
func (l *Logger) configureKlog() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	_ = fs.Set("v", strconv.Itoa(min(max(l.level-klogOffset, 0), klogMaxVerbosity)))
	klog.SetOutput(l.out)
}
