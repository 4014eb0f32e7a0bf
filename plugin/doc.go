// Package plugin owns the exec credential protocol and the refresh policy: it
// reads the exec info that client-go passes in KUBERNETES_EXEC_INFO, decides
// whether a cached token is still fresh, mints a new one through the bootstrap
// package when it is not, and prints exactly one ExecCredential on stdout.
//
// It never reads stdin and never prompts, whatever spec.interactive says, and
// it never writes a token anywhere but stdout and the cache: everything it
// logs goes through a writer that redacts known secrets.
package plugin
