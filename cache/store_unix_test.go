//go:build unix

package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests depend on unix file modes, owners, FIFOs or symbolic links that
// an unprivileged user can create.

func TestGetRejectsUntrustedEntries(t *testing.T) {
	tests := []struct {
		name       string
		rootOnly   string // reason to skip when not root, or "" to always run
		plant      func(t *testing.T, store *Store, key string)
		wantReason string
	}{
		{
			name: "symbolic link to valid entry",
			plant: func(t *testing.T, store *Store, key string) {
				target := filepath.Join(t.TempDir(), "elsewhere.json")
				if err := os.Rename(store.entryPath(key), target); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, store.entryPath(key)); err != nil {
					t.Fatal(err)
				}
			},
			wantReason: "symbolic link",
		},
		{
			name: "mode 0644",
			plant: func(t *testing.T, store *Store, key string) {
				if err := os.Chmod(store.entryPath(key), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantReason: "mode 0644",
		},
		{
			name: "mode 0620",
			plant: func(t *testing.T, store *Store, key string) {
				if err := os.Chmod(store.entryPath(key), 0o620); err != nil {
					t.Fatal(err)
				}
			},
			wantReason: "mode 0620",
		},
		{
			name: "directory",
			plant: func(t *testing.T, store *Store, key string) {
				if err := os.Remove(store.entryPath(key)); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(store.entryPath(key), 0o700); err != nil {
					t.Fatal(err)
				}
			},
			wantReason: "not a regular file",
		},
		{
			name: "FIFO",
			plant: func(t *testing.T, store *Store, key string) {
				if err := os.Remove(store.entryPath(key)); err != nil {
					t.Fatal(err)
				}
				if err := syscall.Mkfifo(store.entryPath(key), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantReason: "not a regular file",
		},
		{
			name:     "owned by another user",
			rootOnly: "changing a file's owner needs root",
			plant: func(t *testing.T, store *Store, key string) {
				if err := os.Chown(store.entryPath(key), 65534, 65534); err != nil {
					t.Fatal(err)
				}
			},
			wantReason: "owned by uid 65534",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rootOnly != "" && os.Geteuid() != 0 {
				t.Skipf("skipped when not running as root: %s", tt.rootOnly)
			}
			store := New(t.TempDir())
			key, _ := putSample(t, store)
			tt.plant(t, store, key)

			_, err := store.Get(key)
			if !errors.Is(err, ErrUntrusted) {
				t.Fatalf("Get() error = %v, want ErrUntrusted", err)
			}
			if !strings.Contains(err.Error(), tt.wantReason) {
				t.Errorf("Get() error = %q, want it to contain %q", err, tt.wantReason)
			}
		})
	}
}

func TestPutReplacesSymlinkedEntry(t *testing.T) {
	store := New(t.TempDir())
	in := sampleInputs()
	key := in.Key()
	target := filepath.Join(t.TempDir(), "victim")
	original := []byte("must stay unchanged\n")
	writeFile(t, target, original, 0o644)
	if err := os.Symlink(target, store.entryPath(key)); err != nil {
		t.Fatal(err)
	}

	if err := store.Put(key, sampleEntry(in)); err != nil {
		t.Fatalf("Put over symbolic link: %v", err)
	}

	data, err := os.ReadFile(target)
	if err != nil {
		t.Fatalf("read link target: %v", err)
	}
	if string(data) != string(original) {
		t.Errorf("link target = %q, want %q", data, original)
	}
	info, err := os.Lstat(store.entryPath(key))
	if err != nil {
		t.Fatal(err)
	}
	if !info.Mode().IsRegular() {
		t.Errorf("entry mode after Put = %s, want a regular file", info.Mode())
	}
	if _, err := store.Get(key); err != nil {
		t.Errorf("Get after Put: %v", err)
	}
}

func TestPutFailsOnUnwritableDir(t *testing.T) {
	root := t.TempDir()
	var dir string
	if os.Geteuid() == 0 {
		// Mode bits do not stop root, so the directory is made impossible to
		// create: its parent is a regular file.
		writeFile(t, filepath.Join(root, "file"), []byte("x"), 0o600)
		dir = filepath.Join(root, "file", "sub")
	} else {
		dir = filepath.Join(root, "readonly")
		if err := os.Mkdir(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	}
	store := New(dir)

	in := sampleInputs()
	err := store.Put(in.Key(), sampleEntry(in))
	if err == nil {
		t.Fatal("Put() error = nil, want an error")
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("Put() error = %q, want it to name %s", err, dir)
	}
	if temps := tempFiles(t, root); len(temps) != 0 {
		t.Errorf("temp files left behind: %q", temps)
	}
}

func TestPutRejectsUntrustedDir(t *testing.T) {
	tests := []struct {
		name       string
		rootOnly   string
		mode       os.FileMode
		chown      bool
		wantReason string
	}{
		{name: "writable by others", mode: 0o777, wantReason: "lets group or others write"},
		{name: "writable by group", mode: 0o770, wantReason: "lets group or others write"},
		{name: "owned by another user", rootOnly: "changing a directory's owner needs root", mode: 0o700, chown: true, wantReason: "owned by uid 65534"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rootOnly != "" && os.Geteuid() != 0 {
				t.Skipf("skipped when not running as root: %s", tt.rootOnly)
			}
			dir := filepath.Join(t.TempDir(), "cache")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.mode); err != nil {
				t.Fatal(err)
			}
			if tt.chown {
				if err := os.Chown(dir, 65534, 65534); err != nil {
					t.Fatal(err)
				}
			}

			in := sampleInputs()
			err := New(dir).Put(in.Key(), sampleEntry(in))
			if !errors.Is(err, ErrUntrusted) {
				t.Fatalf("Put() error = %v, want ErrUntrusted", err)
			}
			if !strings.Contains(err.Error(), tt.wantReason) {
				t.Errorf("Put() error = %q, want it to contain %q", err, tt.wantReason)
			}
			info, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != tt.mode {
				t.Errorf("directory mode after Put = %#o, want it left at %#o", info.Mode().Perm(), tt.mode)
			}
			if names := dirNames(t, dir); len(names) != 0 {
				t.Errorf("untrusted directory contains %q after Put, want nothing", names)
			}
		})
	}
}

func TestPutFollowsDirSymlinkToOwnDir(t *testing.T) {
	real := t.TempDir()
	if err := os.Chmod(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "cache")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	store := New(link)
	key, _ := putSample(t, store)

	if _, err := os.Stat(filepath.Join(real, key+".json")); err != nil {
		t.Errorf("entry not in the link target: %v", err)
	}
}

func TestPruneKeepsUntrustedEntry(t *testing.T) {
	store := New(t.TempDir())
	key, _ := putSample(t, store)
	if err := os.Chmod(store.entryPath(key), 0o644); err != nil {
		t.Fatal(err)
	}
	old := issuedAt.Add(-48 * time.Hour)
	if err := os.Chtimes(store.entryPath(key), old, old); err != nil {
		t.Fatal(err)
	}

	removed, err := store.Prune(issuedAt.Add(48*time.Hour), time.Hour)
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if removed != 0 {
		t.Errorf("Prune() = %d, want 0", removed)
	}
	if _, err := os.Lstat(store.entryPath(key)); err != nil {
		t.Errorf("untrusted entry after Prune: %v", err)
	}
}

func TestPutReplacesEmptyDirectoryEntry(t *testing.T) {
	store := New(t.TempDir())
	in := sampleInputs()
	key := in.Key()
	path := filepath.Join(store.Dir(), key+".json")
	if err := os.MkdirAll(path, 0o700); err != nil {
		t.Fatal(err)
	}

	if err := store.Put(key, sampleEntry(in)); err != nil {
		t.Fatalf("Put over an empty directory: %v", err)
	}
	if _, err := store.Get(key); err != nil {
		t.Errorf("Get after Put: %v", err)
	}

	// A directory with content is reported by path, not removed.
	other := sampleInputs()
	other.Namespace = "team-b"
	otherPath := filepath.Join(store.Dir(), other.Key()+".json")
	if err := os.MkdirAll(otherPath, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(otherPath, "keep"), []byte("x"), 0o600)
	err := store.Put(other.Key(), sampleEntry(other))
	if err == nil || !strings.Contains(err.Error(), otherPath) || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("Put over a non-empty directory: error = %v, want one naming %s and the fix", err, otherPath)
	}
	if _, err := os.Stat(filepath.Join(otherPath, "keep")); err != nil {
		t.Errorf("the non-empty directory lost its content: %v", err)
	}
}

func TestLockRepairsBadLockPath(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	writeFile(t, target, []byte("untouched"), 0o600)
	tests := []struct {
		name  string
		plant func(path string) error
	}{
		{"symbolic link", func(path string) error { return os.Symlink(target, path) }},
		{"dangling symbolic link", func(path string) error { return os.Symlink(filepath.Join(dir, "nowhere"), path) }},
		{"empty directory", func(path string) error { return os.Mkdir(path, 0o700) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := New(filepath.Join(t.TempDir(), "cache"))
			key := sampleInputs().Key()
			if err := os.MkdirAll(store.Dir(), 0o700); err != nil {
				t.Fatal(err)
			}
			lockPath := filepath.Join(store.Dir(), key+".lock")
			if err := tt.plant(lockPath); err != nil {
				t.Fatal(err)
			}

			unlock, err := store.Lock(context.Background(), key)
			if err != nil {
				t.Fatalf("Lock: %v", err)
			}
			unlock()

			info, err := os.Lstat(lockPath)
			if err != nil || !info.Mode().IsRegular() {
				t.Errorf("lock path after Lock: %v, %v; want a regular file", info, err)
			}
			if data, _ := os.ReadFile(target); string(data) != "untouched" {
				t.Errorf("symlink target changed to %q", data)
			}
		})
	}
}
