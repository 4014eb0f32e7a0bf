package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The test binary doubles as the plugin: with runAsPluginEnv set, TestMain runs
// main instead of the tests, so the tests exercise real processes, real stdio
// and real exit codes.
const runAsPluginEnv = "KUBE_SA_TOKEN_TEST_RUN_MAIN"

// panicWithTokenEnv makes the re-executed plugin panic with the minted token in
// the panic value just before printing, to prove panics are redacted too.
const panicWithTokenEnv = "KUBE_SA_TOKEN_TEST_PANIC_WITH_TOKEN"

const (
	fakeBootstrapToken = "FAKEBOOT.abcdef0123456789"
	fakeMintedToken    = "FAKE.JWT.SECRET"
)

func TestMain(m *testing.M) {
	if os.Getenv(runAsPluginEnv) == "1" {
		if os.Getenv(panicWithTokenEnv) == "1" {
			beforeOutput = func(token string) { panic("test panic holding " + token) }
		}
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// apiServer is a TLS httptest server that serves TokenRequests the way
// kube-apiserver does, and counts them.
type apiServer struct {
	*httptest.Server
	caFile string

	requests atomic.Int64

	mu       sync.Mutex
	status   int
	body     string // response body; empty means a TokenRequest built from the request
	warning  string
	date     string // Date header; empty means the current time
	delay    time.Duration
	lifetime time.Duration
	token    string
	lastBody []byte
	lastAuth string
}

func newAPIServer(t *testing.T) *apiServer {
	t.Helper()
	s := &apiServer{status: http.StatusCreated, lifetime: time.Hour, token: fakeMintedToken}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)

	s.caFile = filepath.Join(t.TempDir(), "ca.crt")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	if err := os.WriteFile(s.caFile, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *apiServer) set(f func(s *apiServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *apiServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/token") {
		http.Error(w, "unexpected request "+r.Method+" "+r.URL.Path, http.StatusTeapot)
		return
	}
	s.requests.Add(1)
	body, _ := io.ReadAll(r.Body)

	s.mu.Lock()
	s.lastBody, s.lastAuth = body, r.Header.Get("Authorization")
	status, respBody, warning, date, delay, lifetime, token := s.status, s.body, s.warning, s.date, s.delay, s.lifetime, s.token
	s.mu.Unlock()

	time.Sleep(delay)
	if respBody == "" {
		var req struct {
			Spec json.RawMessage `json:"spec"`
		}
		_ = json.Unmarshal(body, &req)
		respBody = fmt.Sprintf(`{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":%s,"status":{"token":%q,"expirationTimestamp":%q}}`,
			req.Spec, token, time.Now().Add(lifetime).UTC().Format(time.RFC3339))
	}
	if warning != "" {
		w.Header().Add("Warning", warning)
	}
	if date != "" {
		w.Header().Set("Date", date)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, respBody)
}

// result is the outcome of one plugin process.
type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

// invocation describes one plugin process.
type invocation struct {
	args  []string
	env   map[string]string // added to a clean environment
	stdin io.Reader
}

// runPlugin runs the plugin as a separate process with a clean environment:
// only PATH, HOME (a temp dir unless overridden) and inv.env.
func runPlugin(t *testing.T, inv invocation) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	cmd := exec.CommandContext(ctx, os.Args[0], inv.args...)
	env := map[string]string{
		runAsPluginEnv: "1",
		"PATH":         os.Getenv("PATH"),
		"HOME":         t.TempDir(),
	}
	for k, v := range inv.env {
		env[k] = v
	}
	for k, v := range env {
		if v != "\x00unset" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Stdin = &stdout, &stderr, inv.stdin
	// A bootstrap exec plugin left running holds the pipes open after the
	// plugin exits; stop waiting for them soon after.
	cmd.WaitDelay = 2 * time.Second

	start := time.Now()
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String(), elapsed: time.Since(start)}
	if exitErr, ok := err.(*exec.ExitError); ok {
		res.code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run plugin: %v", err)
	}
	return res
}

// serverArgs returns the token flags for the CI bootstrap path against s.
func (s *apiServer) serverArgs(extra ...string) []string {
	args := []string{
		"token", "--namespace", "team-a", "--service-account", "deployer",
		"--bootstrap-server", s.URL, "--bootstrap-certificate-authority", s.caFile,
	}
	return append(args, extra...)
}

// baseEnv returns the bootstrap token and a cache dir for one test.
func baseEnv(t *testing.T) map[string]string {
	return map[string]string{
		"KUBE_SA_TOKEN_BOOTSTRAP_TOKEN": fakeBootstrapToken,
		"KUBE_SA_TOKEN_CACHE_DIR":       t.TempDir(),
	}
}

func execInfo(apiVersion string) string {
	return fmt.Sprintf(`{"kind":"ExecCredential","apiVersion":%q,"spec":{"interactive":false}}`, apiVersion)
}

// credential decodes stdout strictly: exactly one ExecCredential, no unknown
// fields, no trailing bytes.
type credential struct {
	APIVersion string
	Token      string
	Expiry     time.Time
	rawExpiry  string
}

func decodeCredential(t *testing.T, stdout string) credential {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var c struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Spec       struct {
			Interactive bool `json:"interactive"`
		} `json:"spec"`
		Status struct {
			Token               string `json:"token"`
			ExpirationTimestamp string `json:"expirationTimestamp"`
		} `json:"status"`
	}
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("stdout is not one ExecCredential: %v\n%q", err, stdout)
	}
	if dec.More() {
		t.Fatalf("stdout has data after the ExecCredential: %q", stdout)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); strings.TrimSpace(string(rest)) != "" {
		t.Fatalf("stdout has trailing bytes %q", rest)
	}
	if c.Kind != "ExecCredential" {
		t.Fatalf("kind = %q, want ExecCredential", c.Kind)
	}
	expiry, err := time.Parse(time.RFC3339, c.Status.ExpirationTimestamp)
	if err != nil || !strings.HasSuffix(c.Status.ExpirationTimestamp, "Z") {
		t.Fatalf("expirationTimestamp %q is not RFC 3339 UTC: %v", c.Status.ExpirationTimestamp, err)
	}
	return credential{APIVersion: c.APIVersion, Token: c.Status.Token, Expiry: expiry, rawExpiry: c.Status.ExpirationTimestamp}
}

func assertFailed(t *testing.T, res result, wantCode int, wantStderr ...string) {
	t.Helper()
	if res.code != wantCode {
		t.Errorf("exit code = %d, want %d; stderr:\n%s", res.code, wantCode, res.stderr)
	}
	if res.stdout != "" {
		t.Errorf("stdout = %q, want empty on failure", res.stdout)
	}
	for _, s := range wantStderr {
		if !strings.Contains(res.stderr, s) {
			t.Errorf("stderr does not contain %q:\n%s", s, res.stderr)
		}
	}
}

func assertNoSecrets(t *testing.T, res result) {
	t.Helper()
	for _, secret := range []string{fakeBootstrapToken, fakeMintedToken} {
		if strings.Contains(res.stderr, secret) {
			t.Errorf("stderr contains the secret %q:\n%s", secret, res.stderr)
		}
	}
}

func countFiles(t *testing.T, dir, suffix string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), suffix) {
			n++
		}
	}
	return n
}

func TestCacheListAndClear(t *testing.T) {
	s := newAPIServer(t)
	env := baseEnv(t)
	dir := env["KUBE_SA_TOKEN_CACHE_DIR"]
	if res := runPlugin(t, invocation{args: s.serverArgs("--audience", "vault", "--bound-object-kind", "Secret", "--bound-object-name", "anchor"), env: env}); res.code != 0 {
		t.Fatalf("token: exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	// Files that are not entries are skipped, not listed or deleted.
	stray := filepath.Join(dir, "notes.json")
	if err := os.WriteFile(stray, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}

	list := runPlugin(t, invocation{args: []string{"cache", "list"}, env: env})
	if list.code != 0 {
		t.Fatalf("cache list: exit code %d; stderr:\n%s", list.code, list.stderr)
	}
	for _, part := range []string{"cache directory: " + dir, "team-a/deployer", "vault", "Secret/anchor", "server " + s.URL, "(in "} {
		if !strings.Contains(list.stdout, part) {
			t.Errorf("cache list does not show %q:\n%s", part, list.stdout)
		}
	}
	if strings.Contains(list.stdout, fakeMintedToken) || strings.Contains(list.stdout, "notes") {
		t.Errorf("cache list shows a token or a stray file:\n%s", list.stdout)
	}

	clear := runPlugin(t, invocation{args: []string{"cache", "clear"}, env: env})
	if clear.code != 0 || !strings.Contains(clear.stdout, "deleted 1 cache entries") {
		t.Fatalf("cache clear: exit code %d, stdout %q, stderr %q", clear.code, clear.stdout, clear.stderr)
	}
	if n := countFiles(t, dir, ".json"); n != 1 {
		t.Errorf("%d .json files left after clear, want only the stray file", n)
	}
	if res := runPlugin(t, invocation{args: s.serverArgs("--audience", "vault", "--bound-object-kind", "Secret", "--bound-object-name", "anchor"), env: env}); res.code != 0 {
		t.Fatalf("token after clear: exit code %d", res.code)
	}
	if n := s.requests.Load(); n != 2 {
		t.Errorf("TokenRequests = %d, want 2 (clear forces a new mint)", n)
	}
}

func TestUnknownCommandsExitUsage(t *testing.T) {
	for _, args := range [][]string{{"nosuch"}, {"cache", "lsit"}, {"completion", "tcsh"}, {"token", "--nosuch"}, {"token", "extra-arg"}} {
		res := runPlugin(t, invocation{args: args})
		assertFailed(t, res, 2, "--help")
	}
}

func TestVersionPrintsBuildInfo(t *testing.T) {
	res := runPlugin(t, invocation{args: []string{"version"}})
	if res.code != 0 || !strings.HasPrefix(res.stdout, "kube-sa-token dev (commit none") {
		t.Errorf("version: exit code %d, stdout %q", res.code, res.stdout)
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		res := runPlugin(t, invocation{args: []string{"completion", shell}})
		if res.code != 0 || !strings.Contains(res.stdout, "kube-sa-token") {
			t.Errorf("completion %s: exit code %d, %d bytes of script", shell, res.code, len(res.stdout))
		}
	}
}
