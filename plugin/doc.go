// Package plugin owns the exec credential protocol and the refresh policy. It
// reads the exec info that client-go passes in KUBERNETES_EXEC_INFO and decides
// whether a cached token is still fresh. When it is not, it mints a new one
// through the bootstrap package. It prints exactly one ExecCredential on stdout.
//
// It never reads stdin and never prompts, whatever spec.interactive says, and
// it never writes a token anywhere but stdout and the cache: everything it
// logs goes through a writer that redacts known secrets.
package plugin
