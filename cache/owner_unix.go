//go:build unix

package cache

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// fileOwnershipProblem describes why an entry file with info could have been
// written or read by another user, or returns "" when only the current
// user can.
func fileOwnershipProblem(info fs.FileInfo) string {
	if problem := ownerProblem(info); problem != "" {
		return problem
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Sprintf("has mode %#o, which gives group or others access (expected 0600)", perm)
	}
	return ""
}

// dirOwnershipProblem describes why another user could replace entries in a
// cache directory with info, or returns "" when it is safe. A directory that
// others can read is accepted: the entries themselves are 0600, and their
// names are hashes.
func dirOwnershipProblem(info fs.FileInfo) string {
	if problem := ownerProblem(info); problem != "" {
		return problem
	}
	if perm := info.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Sprintf("has mode %#o, which lets group or others write to it", perm)
	}
	return ""
}

func ownerProblem(info fs.FileInfo) string {
	stat, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return "has no owner information"
	}
	if euid := os.Geteuid(); int(stat.Uid) != euid {
		return fmt.Sprintf("is owned by uid %d, not by the current user (uid %d)", stat.Uid, euid)
	}
	return ""
}
