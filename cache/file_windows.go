//go:build windows

package cache

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// NOTE: the Windows code in this package is compiled (GOOS=windows go vet)
// but its tests have only run on Linux.

// openNoFollow opens path for reading without following a symbolic link or
// other reparse point: FILE_FLAG_OPEN_REPARSE_POINT opens the link itself,
// and (*os.File).Stat then reports it as ModeSymlink or ModeIrregular, which
// Get rejects. FILE_SHARE_DELETE lets a concurrent Put rename a new entry over
// the file while it is open.
func openNoFollow(path string) (*os.File, error) {
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	handle, err := windows.CreateFile(name,
		windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil,
		windows.OPEN_EXISTING,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT,
		0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(handle), path), nil
}

// isSymlinkOpenError returns false on Windows: openNoFollow opens a link
// instead of failing on it, and the fstat check rejects it.
func isSymlinkOpenError(error) bool {
	return false
}

// openLockFile opens or creates a lock file. Windows creates new files
// without group or other mode bits, so the 0600 only sets read-write.
func openLockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

// Bounds of the retries in renameReplace.
const (
	renameRetryStart = 2 * time.Millisecond
	renameRetryMax   = 100 * time.Millisecond
	renameRetryTotal = time.Second
)

// renameReplace renames oldPath over newPath. MoveFileEx fails with a sharing
// violation or access denied while another process has newPath open without
// FILE_SHARE_DELETE (a virus scanner, an indexer, or an older reader), so the
// rename is retried with backoff for up to about renameRetryTotal.
func renameReplace(oldPath, newPath string) error {
	deadline := time.Now().Add(renameRetryTotal)
	delay := renameRetryStart
	for {
		err := os.Rename(oldPath, newPath)
		if err == nil || !isTransientRenameError(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay)
		delay = min(2*delay, renameRetryMax)
	}
}

func isTransientRenameError(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_ACCESS_DENIED)
}

// syncDir does nothing on Windows: a directory cannot be opened for
// FlushFileBuffers without FILE_FLAG_BACKUP_SEMANTICS, and NTFS journals the
// rename itself.
func syncDir(string) error {
	return nil
}
