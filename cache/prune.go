package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// staleFileAge is the minimum age of a temp file or an unreadable entry that
// Prune removes. A Put keeps its temp file for milliseconds, so an hour
// leaves a wide margin for a slow disk.
const staleFileAge = time.Hour

// Prune removes stale files from the cache directory and returns the number
// it removed. An absent directory is not an error. Stale files are:
//
//   - entries whose ExpiresAt is before now minus grace,
//   - entries that Get rejects as a miss (corrupt, or written in another
//     format version) last modified more than staleFileAge before now,
//   - temp files last modified more than staleFileAge before now.
//
// Prune is best effort and meant for the miss path. It skips an entry whose
// lock another process holds, so it never removes an entry that a concurrent
// Put is replacing. It keeps untrusted entries (Put replaces those) and lock
// files.
//
// NOTE: lock files are never removed, because Lock does not detect a lock file
// deleted while it waits. One empty <key>.lock stays for every key ever locked.
func (s *Store) Prune(now time.Time, grace time.Duration) (int, error) {
	dirEntries, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("prune cache directory %s: %w", s.dir, err)
	}

	removed := 0
	var errs []error
	for _, dirEntry := range dirEntries {
		ok, err := s.pruneFile(dirEntry, now, grace)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			removed++
		}
	}
	return removed, errors.Join(errs...)
}

// pruneFile removes one directory entry if Prune's rules allow, and reports
// whether it did.
func (s *Store) pruneFile(dirEntry fs.DirEntry, now time.Time, grace time.Duration) (bool, error) {
	name := dirEntry.Name()
	if key, ok := tempFileKey(name); ok && isKey(key) {
		return s.removeIfOlder(dirEntry, now.Add(-staleFileAge))
	}
	key, ok := strings.CutSuffix(name, ".json")
	if !ok || !isKey(key) {
		return false, nil
	}

	unlock, err := s.tryLock(key)
	if err != nil || unlock == nil {
		return false, err
	}
	defer unlock()

	entry, err := s.Get(key)
	switch {
	case err == nil && entry.ExpiresAt.Before(now.Add(-grace)):
		return s.remove(name)
	case err == nil, errors.Is(err, ErrUntrusted), errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return s.removeIfOlder(dirEntry, now.Add(-staleFileAge))
	}
}

// tempFileKey returns the key in a temp file name of the form .<key>.*.tmp.
func tempFileKey(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, ".")
	if !ok || !strings.HasSuffix(rest, ".tmp") {
		return "", false
	}
	key, _, ok := strings.Cut(rest, ".")
	return key, ok
}

func (s *Store) removeIfOlder(dirEntry fs.DirEntry, cutoff time.Time) (bool, error) {
	// DirEntry.Info uses lstat, so the time is that of a link, not its target.
	info, err := dirEntry.Info()
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("prune %s: %w", filepath.Join(s.dir, dirEntry.Name()), err)
	}
	if !info.ModTime().Before(cutoff) {
		return false, nil
	}
	return s.remove(dirEntry.Name())
}

func (s *Store) remove(name string) (bool, error) {
	path := filepath.Join(s.dir, name)
	err := os.Remove(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("prune %s: %w", path, err)
}
