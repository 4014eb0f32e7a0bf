package cache

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// Poll interval bounds for Lock. Minting a token takes one TokenRequest round
// trip, usually tens to hundreds of milliseconds, so a waiter polls often at
// first and then every lockPollMax.
const (
	lockPollStart = 2 * time.Millisecond
	lockPollMax   = 25 * time.Millisecond
)

// Lock takes the exclusive lock for key, waiting until ctx is done. The lock
// is on <key>.lock, a file separate from the entry, because on Windows a
// rename cannot replace a file that another process has open and locked. Lock creates the cache directory and the lock
// file if needed.
//
// The returned unlock releases the lock and closes the file. It may be called
// more than once. It does not delete the lock file, because a process waiting
// on the deleted file and one locking a new file of the same name would both
// hold "the" lock.
//
// When ctx is done first, Lock returns an error that wraps ctx.Err() and names
// the lock file.
func (s *Store) Lock(ctx context.Context, key string) (unlock func(), err error) {
	if !isKey(key) {
		return nil, fmt.Errorf("lock cache entry: invalid cache key %q: expected 64 lowercase hex digits", key)
	}
	if err := s.ensureDir(); err != nil {
		return nil, err
	}
	path := s.lockPath(key)
	f, err := s.openOrRepairLock(path)
	if err != nil {
		return nil, fmt.Errorf("open cache lock %s: %w", path, err)
	}

	delay := lockPollStart
	for {
		locked, err := tryLockFile(f)
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if locked {
			return unlockOnce(f), nil
		}

		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			_ = f.Close()
			return nil, fmt.Errorf("wait for cache lock %s held by another process: %w", path, ctx.Err())
		case <-timer.C:
		}
		delay = min(2*delay, lockPollMax)
	}
}

// tryLock takes the lock for key if it is free, without waiting. It returns
// a nil unlock when another holder has it.
func (s *Store) tryLock(key string) (unlock func(), err error) {
	path := s.lockPath(key)
	f, err := openLockFile(path)
	if err != nil {
		return nil, fmt.Errorf("open cache lock %s: %w", path, err)
	}
	locked, err := tryLockFile(f)
	if err != nil || !locked {
		_ = f.Close()
		return nil, err
	}
	return unlockOnce(f), nil
}

func unlockOnce(f *os.File) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			// Closing the file releases the lock even if the explicit unlock fails.
			_ = unlockFile(f)
			_ = f.Close()
		})
	}
}

// openOrRepairLock opens the lock file at path. Something other than a
// regular file there (a symbolic link, a directory, a device) would turn
// caching off for the key for good, so it is removed (a link itself, never
// its target) and the lock file created anew.
//
// NOTE: two processes that repair the same path at once can each lock a
// different file, so they may both mint once. Later calls share one lock.
func (s *Store) openOrRepairLock(path string) (*os.File, error) {
	f, err := openLockFile(path)
	if err == nil {
		if info, statErr := f.Stat(); statErr == nil && info.Mode().IsRegular() {
			return f, nil
		}
		_ = f.Close()
	}
	info, statErr := os.Lstat(path)
	if statErr != nil || info.Mode().IsRegular() {
		if err == nil {
			err = statErr
		}
		return nil, err
	}
	if removeErr := os.Remove(path); removeErr != nil {
		return nil, fmt.Errorf("%s is a %s, not a lock file, and cannot be removed (%v): remove it", path, info.Mode().Type(), removeErr)
	}
	return openLockFile(path)
}
