//go:build !unix

package bootstrap

import "io/fs"

// fileInode returns "" because os.Stat exposes no file index on this OS. The
// fingerprint still covers size, mtime and a hash of the content.
func fileInode(fs.FileInfo) string { return "" }
