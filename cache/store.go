package cache

import (
	"fmt"
	"os"
	"path/filepath"
)

// Store reads and writes entries in one cache directory. It holds no open
// files and no in-memory copy of the entries, so any number of Stores, in any
// number of processes, may share a directory.
type Store struct {
	dir string

	// beforeRename, when set, runs after the temp file is written and synced
	// and before it is renamed into place. Tests set it to fail a Put midway.
	beforeRename func(tmpPath string) error
}

// New returns a Store for dir. It touches nothing on disk: Put and Lock
// create the directory when they first need it.
func New(dir string) *Store {
	return &Store{dir: dir}
}

// Dir returns the cache directory.
func (s *Store) Dir() string {
	return s.dir
}

func (s *Store) entryPath(key string) string {
	return filepath.Join(s.dir, key+".json")
}

func (s *Store) lockPath(key string) string {
	return filepath.Join(s.dir, key+".lock")
}

// Get reads the entry for key without taking a lock. Every error wraps ErrMiss
// or ErrUntrusted, and callers treat both as a miss. Get checks that the
// stored Inputs hash to key, but not whether the token is still fresh.
func (s *Store) Get(key string) (Entry, error) {
	if !isKey(key) {
		return Entry{}, fmt.Errorf("%w: invalid cache key %q: expected 64 lowercase hex digits", ErrMiss, key)
	}
	path := s.entryPath(key)
	data, err := readTrustedFile(path)
	if err != nil {
		return Entry{}, err
	}
	return decodeEntry(path, key, data)
}

// Put writes e as the entry for key, atomically: readers see either the old
// entry or the new one, never a mix. It writes a temp file in the cache
// directory, syncs it, and renames it over <key>.json. On failure it removes
// the temp file and leaves the old entry as it was.
//
// An existing entry that Get rejects as untrusted, such as a symbolic link or
// a file owned by another user, is replaced by the rename and never written
// through.
func (s *Store) Put(key string, e Entry) error {
	if !isKey(key) {
		return fmt.Errorf("write cache entry: invalid cache key %q: expected 64 lowercase hex digits", key)
	}
	path := s.entryPath(key)
	if got := e.Inputs.Key(); got != key {
		return fmt.Errorf("write cache entry %s: the entry's inputs have key %s", path, got)
	}
	if problem := incompleteField(e); problem != "" {
		return fmt.Errorf("write cache entry %s: incomplete entry: %s", path, problem)
	}
	data, err := encodeEntry(e)
	if err != nil {
		return fmt.Errorf("write cache entry %s: encode: %w", path, err)
	}

	if err := s.ensureDir(); err != nil {
		return err
	}
	return s.replaceFile(key, path, data)
}

// replaceFile writes data to a new temp file and renames it over path.
func (s *Store) replaceFile(key, path string, data []byte) (err error) {
	// os.CreateTemp opens with O_CREATE|O_EXCL and mode 0600.
	tmp, err := os.CreateTemp(s.dir, "."+key+".*.tmp")
	if err != nil {
		return fmt.Errorf("write cache entry %s: create temp file: %w", path, err)
	}
	tmpPath := tmp.Name()
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmpPath)
		}
	}()

	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write cache entry %s: write %s: %w", path, tmpPath, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write cache entry %s: sync %s: %w", path, tmpPath, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write cache entry %s: close %s: %w", path, tmpPath, err)
	}
	if s.beforeRename != nil {
		if err := s.beforeRename(tmpPath); err != nil {
			return fmt.Errorf("write cache entry %s: %w", path, err)
		}
	}
	if err := removeDirectory(path); err != nil {
		return fmt.Errorf("write cache entry %s: %w", path, err)
	}
	if err := renameReplace(tmpPath, path); err != nil {
		return fmt.Errorf("write cache entry %s: rename %s: %w", path, tmpPath, err)
	}

	// The new entry is in place from here on. A failed directory sync only
	// weakens durability across a crash, and an error would tell the caller
	// that the old entry is still there, so it is ignored.
	_ = syncDir(s.dir)
	return nil
}

// ensureDir creates the cache directory (0700, parents too) and checks that
// it is a directory the current user owns and that group and others cannot
// write. It changes no permissions on an existing directory: a directory
// that fails the check is reported, not tightened.
func (s *Store) ensureDir() error {
	if !filepath.IsAbs(s.dir) {
		return fmt.Errorf("cache directory %q is not an absolute path: set --cache-dir or KUBE_SA_TOKEN_CACHE_DIR to an absolute path", s.dir)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("create cache directory %s: %w", s.dir, err)
	}
	// os.Stat follows a symbolic link, so a link to a directory the current
	// user owns passes and a link to anywhere else fails.
	info, err := os.Stat(s.dir)
	if err != nil {
		return fmt.Errorf("check cache directory %s: %w", s.dir, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("%w: cache directory %s is not a directory", ErrUntrusted, s.dir)
	}
	if problem := dirOwnershipProblem(info); problem != "" {
		return fmt.Errorf("%w: cache directory %s %s: use a directory you own with mode 0700 (set --cache-dir or KUBE_SA_TOKEN_CACHE_DIR)",
			ErrUntrusted, s.dir, problem)
	}
	return nil
}

// removeDirectory removes an empty directory found at path, where a file
// belongs, because rename cannot replace a directory with a file. A directory
// with content is reported, not removed.
func removeDirectory(path string) error {
	info, err := os.Lstat(path)
	if err != nil || !info.IsDir() {
		return nil
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("%s is a directory that cannot be removed (%v): remove it", path, err)
	}
	return nil
}
