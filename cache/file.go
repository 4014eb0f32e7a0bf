package cache

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// readTrustedFile reads the entry file at path. It rejects a symbolic link
// without following it, and anything that is not a regular file, with an error
// wrapping ErrUntrusted. It returns errors wrapping ErrMiss for a file that is
// absent, unreadable, empty or too large.
func readTrustedFile(path string) ([]byte, error) {
	f, err := openNoFollow(path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		return nil, missError(path, "no entry", err)
	case isSymlinkOpenError(err):
		return nil, untrustedError(path, "is a symbolic link")
	default:
		return nil, missError(path, "open failed", err)
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return nil, missError(path, "stat failed", err)
	}
	if err := checkTrustedEntry(path, info); err != nil {
		return nil, err
	}
	return readAll(path, f, info.Size())
}

func checkTrustedEntry(path string, info fs.FileInfo) error {
	if info.Mode()&fs.ModeSymlink != 0 {
		return untrustedError(path, "is a symbolic link")
	}
	if !info.Mode().IsRegular() {
		return untrustedError(path, fmt.Sprintf("is not a regular file (mode %s)", info.Mode()))
	}
	if problem := fileOwnershipProblem(info); problem != "" {
		return untrustedError(path, problem)
	}
	return nil
}

// readAll reads exactly size bytes, the size from fstat, in one read for any
// entry this package writes.
func readAll(path string, f *os.File, size int64) ([]byte, error) {
	if size == 0 {
		return nil, missError(path, "empty file", nil)
	}
	if size > maxEntrySize {
		return nil, missError(path, fmt.Sprintf("file is %d bytes, more than the %d an entry can be", size, maxEntrySize), nil)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, missError(path, "read failed", err)
	}
	return data, nil
}
