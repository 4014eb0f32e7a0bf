package bootstrap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mustIdentity returns the identity of options and fails the test on error.
func mustIdentity(t *testing.T, options Options) Identity {
	t.Helper()
	identity, err := options.Identity()
	if err != nil {
		t.Fatalf("Identity: %v", err)
	}
	return identity
}

// identityContainsNo fails the test when any field of identity contains secret.
func identityContainsNo(t *testing.T, identity Identity, secret string) {
	t.Helper()
	for _, field := range []string{identity.Source, identity.Server, identity.CA, identity.ID} {
		if strings.Contains(field, secret) {
			t.Errorf("identity contains the secret %q: %+v", secret, identity)
		}
	}
}

func TestKubeconfigIdentityTracksFiles(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "config")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(kubeconfig, []byte(content), 0o600); err != nil {
			t.Fatalf("write kubeconfig: %v", err)
		}
	}
	write("current-context: a\n# token: " + bootstrapToken + "\n")
	options := Options{Kubeconfig: kubeconfig, Getenv: envMap(nil)}

	first := mustIdentity(t, options)
	again := mustIdentity(t, options)
	if first != again {
		t.Fatalf("identity changed without any change:\n%+v\n%+v", first, again)
	}
	if first.Source != "kubeconfig" || first.Server != "" || first.CA != "" {
		t.Errorf("identity = %+v, want Source kubeconfig with empty Server and CA", first)
	}
	if !strings.Contains(first.ID, kubeconfig) {
		t.Errorf("ID = %s, want it to name %s", first.ID, kubeconfig)
	}
	identityContainsNo(t, first, bootstrapToken)

	// Same size, same mtime: only the content differs.
	info, err := os.Stat(kubeconfig)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	write("current-context: b\n# token: " + bootstrapToken + "\n")
	if err := os.Chtimes(kubeconfig, info.ModTime(), info.ModTime()); err != nil {
		t.Fatalf("chtimes: %v", err)
	}
	rewritten := mustIdentity(t, options)
	if rewritten == first {
		t.Errorf("identity unchanged after the kubeconfig was rewritten in place")
	}

	// Same content, later mtime.
	later := info.ModTime().Add(time.Second)
	if err := os.Chtimes(kubeconfig, later, later); err != nil {
		t.Fatalf("chtimes: %v", err)
	}
	if touched := mustIdentity(t, options); touched == rewritten {
		t.Errorf("identity unchanged after the kubeconfig mtime changed")
	}

	// Replaced by rename, as editors and kubectl config do.
	replacement := filepath.Join(dir, "config.new")
	if err := os.WriteFile(replacement, []byte("current-context: c\n"), 0o600); err != nil {
		t.Fatalf("write replacement: %v", err)
	}
	beforeRename := mustIdentity(t, options)
	if err := os.Rename(replacement, kubeconfig); err != nil {
		t.Fatalf("rename: %v", err)
	}
	if renamed := mustIdentity(t, options); renamed == beforeRename {
		t.Errorf("identity unchanged after the kubeconfig was replaced by rename")
	}
}

func TestKubeconfigIdentityInputs(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	absent := filepath.Join(dir, "absent")
	malformed := filepath.Join(dir, "malformed")
	for path, content := range map[string]string{a: "kind: Config\n", b: "kind: Config\ncurrent-context: x\n", malformed: "{{{ not yaml"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
	}
	list := func(paths ...string) func(string) string {
		return envMap(map[string]string{"KUBECONFIG": strings.Join(paths, string(filepath.ListSeparator))})
	}

	tests := []struct {
		name      string
		left      Options
		right     Options
		wantEqual bool
	}{
		{"equal inputs", Options{Kubeconfig: a}, Options{Kubeconfig: a}, true},
		{"context flag", Options{Kubeconfig: a}, Options{Kubeconfig: a, Context: "admin"}, false},
		{"other context flag", Options{Kubeconfig: a, Context: "x"}, Options{Kubeconfig: a, Context: "y"}, false},
		{"other file", Options{Kubeconfig: a}, Options{Kubeconfig: b}, false},
		{"relative and absolute path", Options{Kubeconfig: a}, Options{Kubeconfig: relativeTo(t, a)}, true},
		{"explicit path ignores KUBECONFIG", Options{Kubeconfig: a, Getenv: list(b)}, Options{Kubeconfig: a, Getenv: list(absent)}, true},
		{"KUBECONFIG duplicates and empties", Options{Getenv: list(a, b)}, Options{Getenv: list("", a, "", a, b)}, true},
		{"KUBECONFIG order", Options{Getenv: list(a, b)}, Options{Getenv: list(b, a)}, false},
		{"KUBECONFIG entry added", Options{Getenv: list(a)}, Options{Getenv: list(a, b)}, false},
		{"absent file added", Options{Getenv: list(a)}, Options{Getenv: list(a, absent)}, false},
		{"mode", Options{Kubeconfig: a}, Options{Server: "https://10.0.0.1:6443", Token: bootstrapToken, InsecureSkipTLSVerify: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, options := range []*Options{&tt.left, &tt.right} {
				if options.Getenv == nil {
					options.Getenv = envMap(nil)
				}
			}

			left, right := mustIdentity(t, tt.left), mustIdentity(t, tt.right)

			if (left == right) != tt.wantEqual {
				t.Errorf("identities equal = %t, want %t:\n%+v\n%+v", left == right, tt.wantEqual, left, right)
			}
		})
	}

	t.Run("absent and malformed files", func(t *testing.T) {
		identity := mustIdentity(t, Options{Getenv: list(absent, malformed)})

		if !strings.Contains(identity.ID, `file="`+absent+`" absent`) {
			t.Errorf("ID = %s, want %s marked absent", identity.ID, absent)
		}
		if !strings.Contains(identity.ID, `file="`+malformed+`" size=`) {
			t.Errorf("ID = %s, want a fingerprint of %s", identity.ID, malformed)
		}
	})

	t.Run("absent file created", func(t *testing.T) {
		created := filepath.Join(t.TempDir(), "config")
		options := Options{Kubeconfig: created, Getenv: envMap(nil)}
		before := mustIdentity(t, options)
		if err := os.WriteFile(created, []byte("kind: Config\n"), 0o600); err != nil {
			t.Fatalf("write: %v", err)
		}

		if after := mustIdentity(t, options); after == before {
			t.Errorf("identity unchanged after the kubeconfig was created")
		}
	})
}

// relativeTo returns path relative to the working directory.
func relativeTo(t *testing.T, path string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	relative, err := filepath.Rel(wd, path)
	if err != nil {
		t.Fatalf("rel: %v", err)
	}
	return relative
}

func TestServerIdentity(t *testing.T) {
	caA := writeFile(t, "a.crt", string(newTestCA(t).certPEM))
	caB := writeFile(t, "b.crt", string(newTestCA(t).certPEM))
	tokenFile := writeFile(t, "token", bootstrapToken+"\n")
	otherTokenFile := writeFile(t, "other-token", "FAKEBOOT.other0123456789")
	const server = "https://10.0.0.1:6443"
	base := Options{Server: server, TokenFile: tokenFile, CAFile: caA, Getenv: envMap(nil)}

	identity := mustIdentity(t, base)
	if identity.Source != "server" || identity.Server != server {
		t.Errorf("identity = %+v, want Source server and Server %s", identity, server)
	}
	if !strings.HasPrefix(identity.CA, "sha256:") || !strings.HasPrefix(identity.ID, "token-sha256:") {
		t.Errorf("identity = %+v, want CA sha256:<hex> and ID token-sha256:<hex>", identity)
	}
	identityContainsNo(t, identity, bootstrapToken)
	identityContainsNo(t, identity, "abcdef0123456789")

	tests := []struct {
		name      string
		change    func(o *Options)
		wantEqual bool
	}{
		{"equal inputs", func(o *Options) {}, true},
		{"same token from the environment", func(o *Options) { o.TokenFile = ""; o.Token = bootstrapToken }, true},
		{"trailing slash on server", func(o *Options) { o.Server = server + "/" }, true},
		{"other token", func(o *Options) { o.TokenFile = otherTokenFile }, false},
		{"other CA", func(o *Options) { o.CAFile = caB }, false},
		{"insecure", func(o *Options) { o.CAFile = ""; o.InsecureSkipTLSVerify = true }, false},
		{"other server", func(o *Options) { o.Server = "https://10.0.0.2:6443" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := base
			tt.change(&changed)

			got := mustIdentity(t, changed)

			if (got == identity) != tt.wantEqual {
				t.Errorf("identities equal = %t, want %t:\n%+v\n%+v", got == identity, tt.wantEqual, identity, got)
			}
			identityContainsNo(t, got, bootstrapToken)
		})
	}

	t.Run("token file rotated", func(t *testing.T) {
		rotating := writeFile(t, "rotating", bootstrapToken)
		options := base
		options.TokenFile = rotating
		before := mustIdentity(t, options)
		if err := os.WriteFile(rotating, []byte("FAKEBOOT.rotated0123456789"), 0o600); err != nil {
			t.Fatalf("rotate token: %v", err)
		}

		if after := mustIdentity(t, options); after.ID == before.ID {
			t.Errorf("ID unchanged after the token file changed")
		}
	})

	t.Run("insecure CA field", func(t *testing.T) {
		options := base
		options.CAFile, options.InsecureSkipTLSVerify = "", true

		if got := mustIdentity(t, options).CA; got != "insecure" {
			t.Errorf("CA = %q, want insecure", got)
		}
	})
}

func TestInClusterIdentity(t *testing.T) {
	tokenFile := writeFile(t, "token", bootstrapToken)
	caFile := writeFile(t, "ca.crt", string(newTestCA(t).certPEM))
	tests := []struct {
		name       string
		host, port string
		wantServer string
	}{
		{"IPv4", "10.96.0.1", "443", "https://10.96.0.1:443"},
		{"IPv6", "fd00::1", "443", "https://[fd00::1]:443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			options := Options{
				InCluster:          true,
				Getenv:             envMap(map[string]string{"KUBERNETES_SERVICE_HOST": tt.host, "KUBERNETES_SERVICE_PORT": tt.port}),
				InClusterTokenFile: tokenFile,
				InClusterCAFile:    caFile,
			}

			identity := mustIdentity(t, options)

			if identity.Source != "in-cluster" || identity.Server != tt.wantServer {
				t.Errorf("identity = %+v, want Source in-cluster and Server %s", identity, tt.wantServer)
			}
			if identity.ID != tokenFingerprint(bootstrapToken) {
				t.Errorf("ID = %s, want the fingerprint of the mounted token", identity.ID)
			}
			if !strings.HasPrefix(identity.CA, "sha256:") {
				t.Errorf("CA = %s, want sha256:<hex>", identity.CA)
			}
			identityContainsNo(t, identity, bootstrapToken)
		})
	}

	t.Run("outside a pod", func(t *testing.T) {
		_, err := Options{InCluster: true, Getenv: envMap(nil), InClusterTokenFile: tokenFile, InClusterCAFile: caFile}.Identity()

		if got := exitCodeOf(err); got != ExitUsage {
			t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitUsage, err)
		}
	})
}
