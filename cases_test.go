package main

// Failure cases reported against other exec credential plugins and
// TokenRequest clients, each run against the real plugin process.

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOutputVersionFollowsExecInfo(t *testing.T) {
	s := newAPIServer(t)
	env := baseEnv(t)

	for _, v := range []string{"client.authentication.k8s.io/v1beta1", "client.authentication.k8s.io/v1"} {
		env["KUBERNETES_EXEC_INFO"] = execInfo(v)
		res := runPlugin(t, invocation{args: s.serverArgs(), env: env})
		if res.code != 0 {
			t.Fatalf("exit code %d for %s; stderr:\n%s", res.code, v, res.stderr)
		}
		if got := decodeCredential(t, res.stdout).APIVersion; got != v {
			t.Errorf("apiVersion = %q, want %q", got, v)
		}
	}
	// The cache stores the token, not an ExecCredential, so one entry serves both versions.
	if n := s.requests.Load(); n != 1 {
		t.Errorf("TokenRequests = %d, want 1 for both versions", n)
	}

	for _, v := range []string{"client.authentication.k8s.io/v1alpha1", "example.com/v9"} {
		env["KUBERNETES_EXEC_INFO"] = execInfo(v)
		res := runPlugin(t, invocation{args: s.serverArgs(), env: env})
		assertFailed(t, res, 2, v, "client.authentication.k8s.io/v1,", "client.authentication.k8s.io/v1beta1")
	}
}

func TestStdoutIsOneObjectAtMaxVerbosity(t *testing.T) {
	s := newAPIServer(t)
	s.set(func(s *apiServer) { s.warning = `299 - "this is a server warning"` })
	env := baseEnv(t)
	env["KUBERNETES_EXEC_INFO"] = execInfo("client.authentication.k8s.io/v1")

	res := runPlugin(t, invocation{args: s.serverArgs("-v", "10"), env: env})
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	if c := decodeCredential(t, res.stdout); c.Token != fakeMintedToken {
		t.Errorf("token = %q, want the minted token", c.Token)
	}
	if !strings.Contains(res.stderr, "this is a server warning") {
		t.Errorf("stderr does not relay the server warning:\n%s", res.stderr)
	}
	if !strings.Contains(res.stderr, "requesting a token for team-a/deployer") {
		t.Errorf("stderr lacks the -v logs:\n%s", res.stderr)
	}
	assertNoSecrets(t, res)

	s.set(func(s *apiServer) {
		s.status, s.body = http.StatusInternalServerError, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"etcd is down","code":500}`
	})
	env["KUBE_SA_TOKEN_CACHE_DIR"] = t.TempDir()
	res = runPlugin(t, invocation{args: s.serverArgs("-v", "10"), env: env})
	if res.code == 0 {
		t.Fatalf("exit code 0 on a 500 answer; stdout %q", res.stdout)
	}
	if res.stdout != "" {
		t.Errorf("stdout = %q, want empty on failure", res.stdout)
	}
}

func TestExecInfoUnsetEmptyMinimalMalformed(t *testing.T) {
	s := newAPIServer(t)
	tests := []struct {
		name        string
		execInfo    string // "\x00unset" leaves the variable out
		extraArgs   []string
		wantVersion string
		wantCode    int
		wantStderr  []string
	}{
		{name: "unset uses the default", execInfo: "\x00unset", wantVersion: "client.authentication.k8s.io/v1"},
		{name: "unset uses --api-version", execInfo: "\x00unset", extraArgs: []string{"--api-version", "client.authentication.k8s.io/v1beta1"}, wantVersion: "client.authentication.k8s.io/v1beta1"},
		{name: "empty", execInfo: "", wantVersion: "client.authentication.k8s.io/v1"},
		{name: "without spec.cluster", execInfo: `{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}`, wantVersion: "client.authentication.k8s.io/v1"},
		{name: "malformed", execInfo: `{"kind":"ExecCredential",`, wantCode: 2, wantStderr: []string{"KUBERNETES_EXEC_INFO", "unexpected end of JSON input"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := baseEnv(t)
			env["KUBERNETES_EXEC_INFO"] = tt.execInfo
			res := runPlugin(t, invocation{args: s.serverArgs(tt.extraArgs...), env: env})
			if tt.wantCode != 0 {
				assertFailed(t, res, tt.wantCode, tt.wantStderr...)
				return
			}
			if res.code != 0 {
				t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
			}
			if got := decodeCredential(t, res.stdout).APIVersion; got != tt.wantVersion {
				t.Errorf("apiVersion = %q, want %q", got, tt.wantVersion)
			}
		})
	}
}

func TestNeverPromptsOrReadsStdin(t *testing.T) {
	s := newAPIServer(t)
	s.set(func(s *apiServer) { s.status, s.body = http.StatusUnauthorized, readCase(t, "status-401.json") })

	// A kubeconfig whose bootstrap user holds an expired token.
	kubeconfig := writeKubeconfig(t, s, "ops", "expired-token")
	manifest, err := os.Open(filepath.Join("testdata", "plugin", "manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer manifest.Close()

	for name, stdin := range map[string]*os.File{"devnull": nil, "piped manifest": manifest} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"KUBE_SA_TOKEN_CACHE_DIR": t.TempDir()}
			inv := invocation{args: []string{"token", "-n", "team-a", "--service-account", "deployer", "--bootstrap-kubeconfig", kubeconfig, "--bootstrap-context", "ops", "--timeout", "10s"}, env: env}
			if stdin != nil {
				inv.stdin = stdin
			}
			res := runPlugin(t, inv)
			assertFailed(t, res, 3, kubeconfig, `"ops"`, "401")
			if res.elapsed > 8*time.Second {
				t.Errorf("took %s, want a prompt failure", res.elapsed)
			}
		})
	}
	if rest, _ := manifest.Seek(0, 1); rest != 0 {
		t.Errorf("the plugin read %d bytes of stdin", rest)
	}
}

func TestHungBootstrapPluginTimesOut(t *testing.T) {
	s := newAPIServer(t)
	dir := t.TempDir()
	hang := filepath.Join(dir, "hang.sh")
	if err := os.WriteFile(hang, []byte("#!/bin/sh\nsleep 30\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	kubeconfig := writeKubeconfigExec(t, s, "ops", hang)

	res := runPlugin(t, invocation{
		args: []string{"token", "-n", "team-a", "--service-account", "deployer", "--bootstrap-kubeconfig", kubeconfig, "--timeout", "1s"},
		env:  map[string]string{"KUBE_SA_TOKEN_CACHE_DIR": t.TempDir()},
	})
	assertFailed(t, res, 6, "timed out (--timeout 1s)", kubeconfig)
	if res.elapsed > 5*time.Second {
		t.Errorf("took %s with --timeout 1s", res.elapsed)
	}
}

func TestCacheSharedAcrossProcesses(t *testing.T) {
	s := newAPIServer(t)
	env := baseEnv(t)

	first := runPlugin(t, invocation{args: s.serverArgs(), env: env})
	time.Sleep(2 * time.Second)
	second := runPlugin(t, invocation{args: s.serverArgs(), env: env})
	for _, res := range []result{first, second} {
		if res.code != 0 {
			t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
		}
	}
	if n := s.requests.Load(); n != 1 {
		t.Errorf("TokenRequests = %d, want 1", n)
	}
	a, b := decodeCredential(t, first.stdout), decodeCredential(t, second.stdout)
	if a.rawExpiry != b.rawExpiry {
		t.Errorf("expirationTimestamp changed between hits: %s then %s", a.rawExpiry, b.rawExpiry)
	}
	// Lifetime 1h, refresh buffer 60s: printed about 59 minutes from now.
	if d := time.Until(a.Expiry); d < 57*time.Minute || d > 59*time.Minute {
		t.Errorf("expirationTimestamp %s is %s away, want about 59m", a.rawExpiry, d)
	}
}

func TestServerCapsLifetime(t *testing.T) {
	s := newAPIServer(t)
	s.set(func(s *apiServer) {
		s.lifetime = 24 * time.Hour
		s.warning = `299 - "requested expiration of 31536000 seconds shortened to 86400 seconds"`
	})
	env := baseEnv(t)
	res := runPlugin(t, invocation{args: s.serverArgs("--expiration", "8760h"), env: env})
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	c := decodeCredential(t, res.stdout)
	// Granted 24h minus the 60s refresh buffer, not the 8760h requested.
	if d := time.Until(c.Expiry); d < 24*time.Hour-3*time.Minute || d > 24*time.Hour-time.Minute {
		t.Errorf("expirationTimestamp %s is %s away, want about 23h59m", c.rawExpiry, d)
	}
	if !strings.Contains(res.stderr, "shortened to 86400 seconds") {
		t.Errorf("stderr does not relay the warning:\n%s", res.stderr)
	}
	if !strings.Contains(string(s.lastBody), `"expirationSeconds":31536000`) {
		t.Errorf("request body %s does not ask for 31536000 seconds", s.lastBody)
	}
}

func TestServerClockSkew(t *testing.T) {
	// The fixture's timestamps lie in 2030 while the local clock does not:
	// the lifetime comes from the server's own clock, so the token is neither
	// taken as expired nor kept past the granted day (of the year requested).
	s := newAPIServer(t)
	s.set(func(s *apiServer) {
		s.body = readCase(t, "tokenrequest-capped.json")
		s.date = "Fri, 01 Mar 2030 10:00:00 GMT"
	})
	res := runPlugin(t, invocation{args: s.serverArgs("--expiration", "8760h"), env: baseEnv(t)})
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	c := decodeCredential(t, res.stdout)
	if c.Token != "FAKE.TOKEN.CAPPED" {
		t.Errorf("token = %q", c.Token)
	}
	if d := time.Until(c.Expiry); d < 24*time.Hour-3*time.Minute || d > 24*time.Hour-time.Minute {
		t.Errorf("expirationTimestamp %s is %s away, want about 23h59m", c.rawExpiry, d)
	}
}

func TestExpirationBounds(t *testing.T) {
	s := newAPIServer(t)
	for _, exp := range []string{"60s", "0", "-5s", "9m59s", "1193047h", "10m0.5s"} {
		t.Run(exp, func(t *testing.T) {
			env := baseEnv(t)
			res := runPlugin(t, invocation{args: s.serverArgs("--expiration", exp), env: env})
			assertFailed(t, res, 2, "--expiration")
			if exp != "10m0.5s" && !strings.Contains(res.stderr, "from 10m0s to 4294967296 seconds") {
				t.Errorf("stderr does not state the allowed range:\n%s", res.stderr)
			}
		})
	}
	if n := s.requests.Load(); n != 0 {
		t.Errorf("TokenRequests = %d, want none for invalid expirations", n)
	}
	for _, exp := range []string{"10m", "1193046h28m16s"} {
		res := runPlugin(t, invocation{args: s.serverArgs("--expiration", exp), env: baseEnv(t)})
		if res.code != 0 {
			t.Errorf("--expiration %s: exit code %d; stderr:\n%s", exp, res.code, res.stderr)
		}
	}
}

func TestInvalidAnswerNotRetriedOrCached(t *testing.T) {
	s := newAPIServer(t)
	s.set(func(s *apiServer) {
		s.status, s.body = http.StatusUnprocessableEntity, readCase(t, "status-422-expiration.json")
	})
	env := baseEnv(t)
	res := runPlugin(t, invocation{args: s.serverArgs(), env: env})
	assertFailed(t, res, 2, "spec.expirationSeconds", "may not specify a duration less than 10 minutes")
	if n := s.requests.Load(); n != 1 {
		t.Errorf("TokenRequests = %d, want 1 (no retry)", n)
	}
	if n := countFiles(t, env["KUBE_SA_TOKEN_CACHE_DIR"], ".json"); n != 0 {
		t.Errorf("cache holds %d entries after a failure, want 0", n)
	}
}

func TestStatusErrorsExplainTheFix(t *testing.T) {
	tests := []struct {
		file       string
		status     int
		wantCode   int
		wantStderr []string
	}{
		{
			file: "status-403-forbidden.json", status: http.StatusForbidden, wantCode: 4,
			wantStderr: []string{
				"system:serviceaccount:ops:minter", "team-a/deployer", `verb "create"`, `"serviceaccounts/token"`,
				"kubectl create role", "--resource=serviceaccounts/token --resource-name=deployer -n team-a",
				"kubectl create rolebinding", "--serviceaccount=ops:minter",
			},
		},
		{file: "status-404-sa-missing.json", status: http.StatusNotFound, wantCode: 5, wantStderr: []string{"service account team-a/deployer not found"}},
		{file: "status-401.json", status: http.StatusUnauthorized, wantCode: 3, wantStderr: []string{"401", "bootstrap"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := newAPIServer(t)
			s.set(func(s *apiServer) { s.status, s.body = tt.status, readCase(t, tt.file) })
			env := baseEnv(t)
			res := runPlugin(t, invocation{args: s.serverArgs(), env: env})
			assertFailed(t, res, tt.wantCode, append(tt.wantStderr, s.URL)...)
			if n := s.requests.Load(); n != 1 {
				t.Errorf("TokenRequests = %d, want 1 (no retry)", n)
			}
			if n := countFiles(t, env["KUBE_SA_TOKEN_CACHE_DIR"], ".json"); n != 0 {
				t.Errorf("cache holds %d entries after a failure, want 0", n)
			}
			assertNoSecrets(t, res)
		})
	}
}

func TestCacheKeyIsolation(t *testing.T) {
	s := newAPIServer(t)
	other := newAPIServer(t)
	kubeconfig := writeKubeconfig(t, s, "ops", fakeBootstrapToken)
	otherCA := filepath.Join(t.TempDir(), "ca.crt")
	caBytes, _ := os.ReadFile(s.caFile)
	// The same CA certificate with a trailing comment line is other bytes,
	// so a different CA fingerprint.
	if err := os.WriteFile(otherCA, append(caBytes, []byte("# rotated\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	cacheDir := t.TempDir()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("FAKEBOOT.second-identity\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	base := []string{"token", "-n", "team-a", "--service-account", "deployer"}
	noEnvToken := map[string]string{"KUBE_SA_TOKEN_BOOTSTRAP_TOKEN": "\x00unset"}
	serverMode := func(url, ca string) []string {
		return []string{"--bootstrap-server", url, "--bootstrap-certificate-authority", ca}
	}
	type variant struct {
		name string
		args []string
		env  map[string]string
	}
	variants := []variant{
		{name: "baseline", args: serverMode(s.URL, s.caFile)},
		{name: "bootstrap server", args: serverMode(other.URL, other.caFile)},
		{name: "bootstrap CA", args: serverMode(s.URL, otherCA)},
		{name: "bootstrap identity", args: append(serverMode(s.URL, s.caFile), "--bootstrap-token-file", tokenFile), env: map[string]string{"KUBE_SA_TOKEN_BOOTSTRAP_TOKEN": "\x00unset"}},
		{name: "namespace", args: append(serverMode(s.URL, s.caFile), "-n", "team-b")},
		{name: "service account", args: append(serverMode(s.URL, s.caFile), "--service-account", "builder")},
		{name: "audiences", args: append(serverMode(s.URL, s.caFile), "--audience", "vault", "--audience", "aws")},
		{name: "expiration", args: append(serverMode(s.URL, s.caFile), "--expiration", "2h")},
		{name: "bound object", args: append(serverMode(s.URL, s.caFile), "--bound-object-kind", "Secret", "--bound-object-name", "anchor")},
		{name: "target cluster", args: serverMode(s.URL, s.caFile), env: map[string]string{"KUBERNETES_EXEC_INFO": `{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"cluster":{"server":"https://other.example:6443"}}}`}},
		{name: "kubeconfig", args: []string{"--bootstrap-kubeconfig", kubeconfig}, env: noEnvToken},
		{name: "kubeconfig context", args: []string{"--bootstrap-kubeconfig", kubeconfig, "--bootstrap-context", "ops2"}, env: noEnvToken},
	}

	run := func(v variant) {
		t.Helper()
		env := map[string]string{"KUBE_SA_TOKEN_BOOTSTRAP_TOKEN": fakeBootstrapToken, "KUBE_SA_TOKEN_CACHE_DIR": cacheDir}
		for k, val := range v.env {
			env[k] = val
		}
		res := runPlugin(t, invocation{args: append(append([]string{}, base...), v.args...), env: env})
		if res.code != 0 {
			t.Fatalf("%s: exit code %d; stderr:\n%s", v.name, res.code, res.stderr)
		}
	}
	total := func() int64 { return s.requests.Load() + other.requests.Load() }

	for i, v := range variants {
		run(v)
		if got := total(); got != int64(i+1) {
			t.Fatalf("after %q: TokenRequests = %d, want %d (a changed input must miss the cache)", v.name, got, i+1)
		}
	}
	// Every variant again: all hits. Audience order must not matter.
	for _, v := range variants {
		run(v)
	}
	run(variant{name: "audiences reordered", args: append(serverMode(s.URL, s.caFile), "--audience", "aws", "--audience", "vault")})
	if got := total(); got != int64(len(variants)) {
		t.Errorf("after repeating every variant: TokenRequests = %d, want %d", got, len(variants))
	}

	// No secret appears in a file name or an entry's non-token fields.
	entries, _ := os.ReadDir(cacheDir)
	for _, e := range entries {
		if strings.Contains(e.Name(), "FAKEBOOT") {
			t.Errorf("cache file name %q contains the bootstrap token", e.Name())
		}
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(cacheDir, e.Name()))
		if strings.Contains(string(b), "FAKEBOOT") {
			t.Errorf("cache entry %s contains the bootstrap token", e.Name())
		}
	}
}

func TestConcurrentProcessesMintOnce(t *testing.T) {
	s := newAPIServer(t)
	s.set(func(s *apiServer) { s.delay = 200 * time.Millisecond })
	env := baseEnv(t)

	const n = 20
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runPlugin(t, invocation{args: s.serverArgs(), env: env})
		}()
	}
	wg.Wait()
	for i, res := range results {
		if res.code != 0 {
			t.Errorf("process %d: exit code %d; stderr:\n%s", i, res.code, res.stderr)
			continue
		}
		if c := decodeCredential(t, res.stdout); c.Token != fakeMintedToken {
			t.Errorf("process %d: token %q", i, c.Token)
		}
	}
	if got := s.requests.Load(); got != 1 {
		t.Errorf("TokenRequests = %d, want 1 for %d concurrent processes", got, n)
	}
}

func TestDamagedEntryIsOverwritten(t *testing.T) {
	for _, name := range []string{"cache-torn.bin", "cache-empty.bin", "cache-garbage.bin"} {
		t.Run(name, func(t *testing.T) {
			s := newAPIServer(t)
			env := baseEnv(t)
			dir := env["KUBE_SA_TOKEN_CACHE_DIR"]
			if res := runPlugin(t, invocation{args: s.serverArgs(), env: env}); res.code != 0 {
				t.Fatalf("first run: exit code %d; stderr:\n%s", res.code, res.stderr)
			}
			entry := onlyEntry(t, dir)
			damaged, err := os.ReadFile(filepath.Join("testdata", "cache", name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(entry, damaged, 0o600); err != nil {
				t.Fatal(err)
			}

			res := runPlugin(t, invocation{args: s.serverArgs(), env: env})
			if res.code != 0 {
				t.Fatalf("exit code %d with a damaged entry; stderr:\n%s", res.code, res.stderr)
			}
			decodeCredential(t, res.stdout)
			if n := s.requests.Load(); n != 2 {
				t.Errorf("TokenRequests = %d, want 2 (the damaged entry is a miss)", n)
			}
			if res := runPlugin(t, invocation{args: s.serverArgs(), env: env}); res.code != 0 {
				t.Fatalf("third run: exit code %d", res.code)
			}
			if n := s.requests.Load(); n != 2 {
				t.Errorf("TokenRequests = %d after the entry was rewritten, want 2", n)
			}
			if n := countFiles(t, dir, ".tmp"); n != 0 {
				t.Errorf("%d temp files left in the cache dir", n)
			}
		})
	}
}

func TestUnwritableCacheStillPrints(t *testing.T) {
	s := newAPIServer(t)
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      map[string]string
		wantPath string
	}{
		// HOME below a regular file cannot hold directories, as a read-only HOME cannot.
		{name: "unwritable HOME", env: map[string]string{"HOME": filepath.Join(file, "home"), "XDG_CACHE_HOME": "\x00unset"}, wantPath: filepath.Join(file, "home")},
		{name: "HOME unset", env: map[string]string{"HOME": "\x00unset", "XDG_CACHE_HOME": "\x00unset"}, wantPath: "KUBE_SA_TOKEN_CACHE_DIR"},
		{name: "unwritable cache dir", env: map[string]string{"KUBE_SA_TOKEN_CACHE_DIR": filepath.Join(file, "cache")}, wantPath: filepath.Join(file, "cache")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"KUBE_SA_TOKEN_BOOTSTRAP_TOKEN": fakeBootstrapToken}
			for k, v := range tt.env {
				env[k] = v
			}
			res := runPlugin(t, invocation{args: s.serverArgs(), env: env})
			if res.code != 0 {
				t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
			}
			decodeCredential(t, res.stdout)
			if !strings.Contains(res.stderr, tt.wantPath) || !strings.Contains(res.stderr, "caching is off") {
				t.Errorf("stderr does not warn about %s:\n%s", tt.wantPath, res.stderr)
			}
			if n := strings.Count(res.stderr, "warning:"); n != 1 {
				t.Errorf("stderr has %d warnings, want exactly 1:\n%s", n, res.stderr)
			}
		})
	}
}

func TestForeignCacheEntryNotTrusted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	s := newAPIServer(t)
	env := baseEnv(t)
	dir := env["KUBE_SA_TOKEN_CACHE_DIR"]
	if res := runPlugin(t, invocation{args: s.serverArgs(), env: env}); res.code != 0 {
		t.Fatalf("first run: exit code %d", res.code)
	}
	entry := onlyEntry(t, dir)
	if err := os.Chown(entry, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	res := runPlugin(t, invocation{args: s.serverArgs(), env: env})
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	decodeCredential(t, res.stdout)
	if !strings.Contains(res.stderr, entry) || !strings.Contains(res.stderr, "caching is off") {
		t.Errorf("stderr does not warn about %s:\n%s", entry, res.stderr)
	}
	if n := s.requests.Load(); n != 2 {
		t.Errorf("TokenRequests = %d, want 2 (a foreign entry is not used)", n)
	}
	assertReplacedByOwnEntry(t, s, env, entry)
}

func TestReadableEntryIsReplaced(t *testing.T) {
	s := newAPIServer(t)
	env := baseEnv(t)
	if res := runPlugin(t, invocation{args: s.serverArgs(), env: env}); res.code != 0 {
		t.Fatalf("first run: exit code %d", res.code)
	}
	entry := onlyEntry(t, env["KUBE_SA_TOKEN_CACHE_DIR"])
	if err := os.Chmod(entry, 0o644); err != nil {
		t.Fatal(err)
	}

	res := runPlugin(t, invocation{args: s.serverArgs(), env: env})
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, entry) || !strings.Contains(res.stderr, "a new entry replaces it") {
		t.Errorf("stderr does not warn about %s:\n%s", entry, res.stderr)
	}
	assertReplacedByOwnEntry(t, s, env, entry)
}

// assertReplacedByOwnEntry checks that entry is now a private file of this
// user and that the next run is a cache hit.
func assertReplacedByOwnEntry(t *testing.T, s *apiServer, env map[string]string, entry string) {
	t.Helper()
	st, err := os.Lstat(entry)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); !st.Mode().IsRegular() || perm != 0o600 {
		t.Errorf("entry mode after replacement = %v, want a regular file with mode 600", st.Mode())
	}
	before := s.requests.Load()
	res := runPlugin(t, invocation{args: s.serverArgs(), env: env})
	if res.code != 0 {
		t.Fatalf("run after replacement: exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	if n := s.requests.Load(); n != before {
		t.Errorf("TokenRequests rose from %d to %d: the replaced entry was not a cache hit", before, n)
	}
	if res.stderr != "" {
		t.Errorf("stderr after replacement = %q, want empty", res.stderr)
	}
}

func TestRelativeCacheDirRejected(t *testing.T) {
	s := newAPIServer(t)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "flag", args: []string{"--cache-dir", "relative/cache"}, want: `invalid --cache-dir "relative/cache"`},
		{name: "environment", env: map[string]string{"KUBE_SA_TOKEN_CACHE_DIR": "relative/cache"}, want: `invalid KUBE_SA_TOKEN_CACHE_DIR "relative/cache"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := baseEnv(t)
			for k, v := range tt.env {
				env[k] = v
			}
			res := runPlugin(t, invocation{args: s.serverArgs(tt.args...), env: env})
			assertFailed(t, res, 2, tt.want, "absolute path")
		})
	}
	if n := s.requests.Load(); n != 0 {
		t.Errorf("TokenRequests = %d, want 0 for an invalid cache directory", n)
	}
}

func TestLockWaitTimesOut(t *testing.T) {
	s := newAPIServer(t)
	s.set(func(s *apiServer) { s.delay = 3 * time.Second })
	env := baseEnv(t)

	first := make(chan result, 1)
	go func() { first <- runPlugin(t, invocation{args: s.serverArgs(), env: env}) }()
	for s.requests.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}

	res := runPlugin(t, invocation{args: s.serverArgs("--timeout", "1s"), env: env})
	assertFailed(t, res, 6, "timed out (--timeout 1s) waiting for the cache lock", ".lock")
	if res := <-first; res.code != 0 {
		t.Errorf("lock holder: exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	if n := s.requests.Load(); n != 1 {
		t.Errorf("TokenRequests = %d, want 1", n)
	}
}

func TestCachePermissions(t *testing.T) {
	s := newAPIServer(t)
	env := baseEnv(t)
	dir := filepath.Join(env["KUBE_SA_TOKEN_CACHE_DIR"], "nested", "kube-sa-token")
	env["KUBE_SA_TOKEN_CACHE_DIR"] = dir
	if res := runPlugin(t, invocation{args: s.serverArgs(), env: env}); res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o700 {
		t.Errorf("cache dir mode = %o, want 700", perm)
	}
	st, err = os.Stat(onlyEntry(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("cache entry mode = %o, want 600", perm)
	}
}

func TestSecretsNeverReachStderr(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		env      map[string]string
		wantCode int
	}{
		{name: "success", status: http.StatusCreated, wantCode: 0},
		{name: "401", status: http.StatusUnauthorized, body: readCase(t, "status-401.json"), wantCode: 3},
		{name: "403", status: http.StatusForbidden, body: readCase(t, "status-403-forbidden.json"), wantCode: 4},
		{name: "malformed body with token", status: http.StatusCreated, body: `{"status":{"token":"FAKE.JWT.SECRET","expirationTimestamp":"not a time"}`, wantCode: 1},
		{name: "body without kind", status: http.StatusCreated, body: `{"status":{"token":"FAKE.JWT.SECRET"}}`, wantCode: 1},
		{name: "error status echoing the bootstrap token", status: http.StatusInternalServerError, body: `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"bad token FAKEBOOT.abcdef0123456789","code":500}`, wantCode: 1},
		{name: "error body holding status.token", status: http.StatusInternalServerError, body: `{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","status":{"token":"FAKE.JWT.SECRET","expirationTimestamp":"2030-01-01T00:00:00Z"}}`, wantCode: 1},
		{name: "error body not JSON", status: http.StatusBadGateway, body: `upstream said token=FAKE.JWT.SECRET`, wantCode: 6},
		{name: "panic", status: http.StatusCreated, env: map[string]string{panicWithTokenEnv: "1"}, wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAPIServer(t)
			s.set(func(s *apiServer) { s.status, s.body = tt.status, tt.body })
			env := baseEnv(t)
			for k, v := range tt.env {
				env[k] = v
			}
			res := runPlugin(t, invocation{args: s.serverArgs("-v", "10"), env: env})
			if res.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", res.code, tt.wantCode, res.stderr)
			}
			if tt.wantCode != 0 && res.stdout != "" {
				t.Errorf("stdout = %q, want empty", res.stdout)
			}
			if tt.name == "panic" && !strings.Contains(res.stderr, "test panic holding <redacted>") {
				t.Errorf("stderr does not show the redacted panic:\n%s", res.stderr)
			}
			assertNoSecrets(t, res)
		})
	}
}

// onlyEntry returns the path of the single cache entry in dir.
func onlyEntry(t *testing.T, dir string) string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(matches) != 1 {
		t.Fatalf("cache dir %s holds entries %v, want exactly one", dir, matches)
	}
	return matches[0]
}

func readCase(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "bootstrap", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeKubeconfig writes a kubeconfig with two contexts, ops and ops2, whose
// users hold bearer tokens for s. current names the current context.
func writeKubeconfig(t *testing.T, s *apiServer, current, token string) string {
	t.Helper()
	return writeKubeconfigFile(t, s, fmt.Sprintf(`users:
- name: minter
  user:
    token: %s
- name: minter2
  user:
    token: %s
contexts:
- name: ops
  context: {cluster: test, user: minter}
- name: ops2
  context: {cluster: test, user: minter2}
current-context: %s
`, token, token+"2", current))
}

// writeKubeconfigExec writes a kubeconfig whose only context's user runs
// command as an exec credential plugin.
func writeKubeconfigExec(t *testing.T, s *apiServer, context, command string) string {
	t.Helper()
	return writeKubeconfigFile(t, s, fmt.Sprintf(`users:
- name: minter
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: %s
      interactiveMode: Never
contexts:
- name: %s
  context: {cluster: test, user: minter}
current-context: %s
`, command, context, context))
}

// writeKubeconfigFile writes a kubeconfig with one cluster, test, for s,
// followed by usersAndContexts.
func writeKubeconfigFile(t *testing.T, s *apiServer, usersAndContexts string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	content := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority: %s
`, s.URL, s.caFile) + usersAndContexts
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBootstrapFilesFromPipes(t *testing.T) {
	s := newAPIServer(t)
	ca, err := os.ReadFile(s.caFile)
	if err != nil {
		t.Fatal(err)
	}
	tokenRead, tokenWrite, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	caRead, caWrite, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = tokenWrite.WriteString(fakeBootstrapToken + "\n")
		tokenWrite.Close()
	}()
	go func() {
		_, _ = caWrite.Write(ca)
		caWrite.Close()
	}()

	// The child opens the read ends as /dev/fd/3 and /dev/fd/4, as with a
	// shell's process substitution.
	cmd := exec.Command(os.Args[0], "token", "-n", "team-a", "--service-account", "deployer",
		"--bootstrap-server", s.URL, "--bootstrap-token-file", "/dev/fd/3", "--bootstrap-certificate-authority", "/dev/fd/4")
	cmd.Env = []string{runAsPluginEnv + "=1", "HOME=" + t.TempDir(), "KUBE_SA_TOKEN_CACHE_DIR=" + t.TempDir()}
	cmd.ExtraFiles = []*os.File{tokenRead, caRead}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("plugin with pipes: %v; stderr:\n%s", err, stderr.String())
	}
	if c := decodeCredential(t, stdout.String()); c.Token != fakeMintedToken {
		t.Errorf("token = %q", c.Token)
	}
	s.mu.Lock()
	got := s.lastAuth
	s.mu.Unlock()
	if got != "Bearer "+fakeBootstrapToken {
		t.Errorf("Authorization header does not carry the token read from the pipe")
	}
}

func TestShortGrantHalvesRefreshBuffer(t *testing.T) {
	s := newAPIServer(t)
	s.set(func(s *apiServer) { s.lifetime = 10 * time.Minute })
	res := runPlugin(t, invocation{args: s.serverArgs("--expiration", "20m", "--refresh-buffer", "15m"), env: baseEnv(t)})
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	c := decodeCredential(t, res.stdout)
	// About half of the usable 10 minutes, never in the past.
	if d := time.Until(c.Expiry); d < 4*time.Minute || d > 5*time.Minute {
		t.Errorf("expirationTimestamp %s is %s away, want about 5m", c.rawExpiry, d)
	}
	for _, part := range []string{"granted: 10m0s", "--refresh-buffer 15m0s", "half"} {
		if !strings.Contains(res.stderr, part) {
			t.Errorf("stderr does not contain %q:\n%s", part, res.stderr)
		}
	}
}

func TestStaleDateHeaderCappedAtRequest(t *testing.T) {
	// A Date header decades behind would stretch the lifetime measured on the
	// server's clock; the request's expirationSeconds bounds it.
	s := newAPIServer(t)
	s.set(func(s *apiServer) { s.date = "Mon, 01 Jan 1990 00:00:00 GMT" })
	res := runPlugin(t, invocation{args: s.serverArgs(), env: baseEnv(t)})
	if res.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", res.code, res.stderr)
	}
	c := decodeCredential(t, res.stdout)
	if d := time.Until(c.Expiry); d < 57*time.Minute || d > 59*time.Minute {
		t.Errorf("expirationTimestamp %s is %s away, want about 59m (1h requested, 60s buffer)", c.rawExpiry, d)
	}
}
