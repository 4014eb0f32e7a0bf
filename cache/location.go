package cache

import (
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/adrg/xdg"
)

// appName is the name of the cache directory under the user's cache home.
const appName = "kube-sa-token"

// envCacheDir is the environment variable that sets the cache directory when
// the --cache-dir flag is empty.
const envCacheDir = "KUBE_SA_TOKEN_CACHE_DIR"

// Dir resolves the cache directory. The first source that is set wins:
//
//  1. flagValue (the --cache-dir flag),
//  2. $KUBE_SA_TOKEN_CACHE_DIR,
//  3. $XDG_CACHE_HOME/kube-sa-token, when XDG_CACHE_HOME is absolute (the XDG
//     Base Directory specification calls a relative value invalid, to be ignored),
//  4. the platform cache home joined with kube-sa-token: $HOME/.cache on Linux
//     and other unix systems, $HOME/Library/Caches on macOS, and
//     %LOCALAPPDATA%\cache on Windows, the same places github.com/adrg/xdg uses.
//
// The result is always absolute, never the working directory. A relative
// flagValue or KUBE_SA_TOKEN_CACHE_DIR is an error, not a fallthrough,
// because the user asked for that directory. getenv is os.Getenv in
// production.
func Dir(flagValue string, getenv func(string) string) (string, error) {
	if flagValue != "" {
		return requireAbsolute("--cache-dir", flagValue)
	}
	if dir := getenv(envCacheDir); dir != "" {
		return requireAbsolute(envCacheDir, dir)
	}
	if xdgCache := getenv("XDG_CACHE_HOME"); filepath.IsAbs(xdgCache) {
		return filepath.Join(xdgCache, appName), nil
	}
	if home, ok := platformCacheHome(getenv); ok {
		return filepath.Join(home, appName), nil
	}
	return "", fmt.Errorf("no cache directory: --cache-dir and %s are unset, and XDG_CACHE_HOME and %s are unset or relative: "+
		"pass --cache-dir or set %s to an absolute path", envCacheDir, platformCacheHomeSource(), envCacheDir)
}

func requireAbsolute(source, dir string) (string, error) {
	if !filepath.IsAbs(dir) {
		return "", fmt.Errorf("invalid cache directory %q from %s: it must be an absolute path", dir, source)
	}
	return filepath.Clean(dir), nil
}

// platformCacheHome returns the user's cache home from the environment, and
// false when the variable it needs is unset or relative. It reads getenv
// rather than xdg.CacheHome, because adrg/xdg reads the environment once at
// package init and turns an unset HOME into "/".
func platformCacheHome(getenv func(string) string) (string, bool) {
	switch runtime.GOOS {
	case "windows":
		if local := getenv("LOCALAPPDATA"); filepath.IsAbs(local) {
			return filepath.Join(local, "cache"), true
		}
		// adrg/xdg queries the Windows known-folder API, which does not
		// depend on the environment.
		return xdg.CacheHome, filepath.IsAbs(xdg.CacheHome)
	case "darwin", "ios":
		home := getenv("HOME")
		return filepath.Join(home, "Library", "Caches"), filepath.IsAbs(home)
	default:
		home := getenv("HOME")
		return filepath.Join(home, ".cache"), filepath.IsAbs(home)
	}
}

func platformCacheHomeSource() string {
	if runtime.GOOS == "windows" {
		return "LOCALAPPDATA"
	}
	return "HOME"
}
