//go:build windows

package cache

import "io/fs"

// fileOwnershipProblem returns "" on Windows. NTFS ACLs, not the mode bits
// that Go reports, decide who can read or write a file. The default cache
// directory is under %LOCALAPPDATA%, in the user profile, which by default only
// the user, SYSTEM and Administrators can open.
// TODO: check the owner SID and DACL of the file to match the unix check.
func fileOwnershipProblem(fs.FileInfo) string {
	return ""
}

// dirOwnershipProblem returns "" on Windows, for the reason given at
// fileOwnershipProblem.
func dirOwnershipProblem(fs.FileInfo) string {
	return ""
}
