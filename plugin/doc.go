// Package plugin owns the exec credential protocol and the refresh policy. It
// reads the exec info that client-go passes in KUBERNETES_EXEC_INFO and decides
// whether a cached token is still fresh. When it is not, it mints a new one
// through the bootstrap package. It prints exactly one ExecCredential on stdout.
//
// It never reads stdin and never prompts, whatever the value of
// spec.interactive. It writes a token only to stdout and the cache, and
// everything it logs goes through a writer that redacts known secrets. The
// exception is the stderr of a bootstrap exec plugin, which client-go connects
// to the process's stderr directly.
package plugin
