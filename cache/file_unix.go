//go:build unix

package cache

import (
	"errors"
	"os"
	"syscall"
)

// openNoFollow opens path for reading and fails on a symbolic link instead of
// following it. O_NONBLOCK keeps the open from hanging on a FIFO planted under
// the entry's name; it has no effect on a regular file.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}

// isSymlinkOpenError reports whether err is how open(2) with O_NOFOLLOW
// rejects a symbolic link: ELOOP on Linux and macOS, EMLINK on FreeBSD and
// NetBSD.
func isSymlinkOpenError(err error) bool {
	return errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK)
}

// openLockFile opens or creates a lock file (0600) without following a
// symbolic link, so a planted link cannot make Lock create a file elsewhere.
func openLockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
}

// renameReplace renames oldPath over newPath. rename(2) replaces newPath
// atomically, and replaces a symbolic link itself rather than its target.
func renameReplace(oldPath, newPath string) error {
	return os.Rename(oldPath, newPath)
}

// syncDir makes a completed rename in dir durable across a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
