// Package cache owns the on-disk token cache: cache keys, entry files and
// per-key lock files in one directory that many kube-sa-token processes share.
//
// Layout of the cache directory (created 0700):
//
//	<key>.json        one entry (0600), replaced only by an atomic rename
//	<key>.lock        the per-key lock (0600), never deleted
//	.<key>.*.tmp      an entry being written, renamed into place when complete
//
// A key is the hex SHA-256 of the non-secret Inputs, so a file name never
// contains a token, a bootstrap credential or a ServiceAccount name.
//
// Get is on the hot path of every kubectl call, so it takes no lock: it relies
// on Put replacing entries by rename, and reads an entry with one open, one
// fstat and one read. Callers serialize minting with Lock.
//
// The package never talks to the network, never builds Kubernetes clients and
// never decides whether an entry is fresh: the refresh policy belongs to the
// caller. It never writes a token to an error message.
package cache
