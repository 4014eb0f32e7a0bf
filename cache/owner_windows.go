//go:build windows

package cache

import "io/fs"

// fileOwnershipProblem returns "" on Windows. NTFS ACLs, not the mode bits
// that Go reports, decide who can read or write a file, and the default cache
// directory is under %LOCALAPPDATA%, which the user profile keeps private.
// TODO: check the owner SID and DACL of the file to match the unix check.
func fileOwnershipProblem(fs.FileInfo) string {
	return ""
}

// dirOwnershipProblem returns "" on Windows, for the reason given at
// fileOwnershipProblem.
func dirOwnershipProblem(fs.FileInfo) string {
	return ""
}
