package cache

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// platformCacheHomeFor returns the platform cache home that Dir derives
// from HOME on the machine running the test.
func platformCacheHomeFor(home string) string {
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return filepath.Join(home, "Library", "Caches")
	}
	return filepath.Join(home, ".cache")
}

func TestDirResolvesByPrecedence(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("skipped on Windows: the platform cache home comes from LOCALAPPDATA or the known-folder API, not HOME")
	}
	fullEnv := map[string]string{
		"KUBE_SA_TOKEN_CACHE_DIR": "/env/cache",
		"XDG_CACHE_HOME":          "/xdg",
		"HOME":                    "/home/dev",
	}
	tests := []struct {
		name string
		flag string
		env  map[string]string
		want string
	}{
		{"flag beats everything", "/flag/cache", fullEnv, "/flag/cache"},
		{"flag is cleaned", "/flag/./cache/", fullEnv, "/flag/cache"},
		{"env beats XDG", "", fullEnv, "/env/cache"},
		{"XDG beats platform", "", map[string]string{"XDG_CACHE_HOME": "/xdg", "HOME": "/home/dev"}, "/xdg/kube-sa-token"},
		{"relative XDG ignored", "", map[string]string{"XDG_CACHE_HOME": "xdg", "HOME": "/home/dev"}, filepath.Join(platformCacheHomeFor("/home/dev"), "kube-sa-token")},
		{"platform from HOME", "", map[string]string{"HOME": "/home/dev"}, filepath.Join(platformCacheHomeFor("/home/dev"), "kube-sa-token")},
		{"HOME is root", "", map[string]string{"HOME": "/"}, filepath.Join(platformCacheHomeFor("/"), "kube-sa-token")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Dir(tt.flag, mapGetenv(tt.env))
			if err != nil {
				t.Fatalf("Dir() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("Dir() = %q, want %q", got, tt.want)
			}
			if !filepath.IsAbs(got) {
				t.Errorf("Dir() = %q, want an absolute path", got)
			}
		})
	}
}

func TestDirRejectsMissingOrRelative(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("skipped on Windows: the known-folder API gives a cache home even with an empty environment")
	}
	tests := []struct {
		name     string
		flag     string
		env      map[string]string
		wantText []string
	}{
		{"empty environment", "", nil, []string{"no cache directory", "--cache-dir", "KUBE_SA_TOKEN_CACHE_DIR", "HOME"}},
		{"relative HOME and XDG", "", map[string]string{"HOME": "home", "XDG_CACHE_HOME": "cache"}, []string{"no cache directory", "--cache-dir"}},
		{"relative flag", "cache", map[string]string{"HOME": "/home/dev"}, []string{`"cache"`, "--cache-dir", "absolute"}},
		{"relative env", "", map[string]string{"KUBE_SA_TOKEN_CACHE_DIR": "./cache", "HOME": "/home/dev"}, []string{`"./cache"`, "KUBE_SA_TOKEN_CACHE_DIR", "absolute"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Dir(tt.flag, mapGetenv(tt.env))
			if err == nil {
				t.Fatalf("Dir() = %q, want an error", got)
			}
			for _, text := range tt.wantText {
				if !strings.Contains(err.Error(), text) {
					t.Errorf("Dir() error = %q, want it to contain %q", err, text)
				}
			}
		})
	}
}

func mapGetenv(env map[string]string) func(string) string {
	return func(name string) string { return env[name] }
}
