package bootstrap

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// TokenEnv is the environment variable that carries a bootstrap bearer token in
// server mode. It is never a flag, because argv is visible to other users in ps.
const TokenEnv = "KUBE_SA_TOKEN_BOOTSTRAP_TOKEN"

// Default paths of the ServiceAccount credentials that the kubelet mounts into
// every pod, the same paths rest.InClusterConfig reads.
const (
	defaultInClusterTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	defaultInClusterCAFile    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
)

// Flag names, used in messages so that each one names the flag to change.
const (
	flagKubeconfig = "--bootstrap-kubeconfig"
	flagContext    = "--bootstrap-context"
	flagServer     = "--bootstrap-server"
	flagTokenFile  = "--bootstrap-token-file"
	flagCAFile     = "--bootstrap-certificate-authority"
	flagInsecure   = "--bootstrap-insecure-skip-tls-verify"
	flagInCluster  = "--bootstrap-in-cluster"
)

// Mode is the source of the bootstrap identity.
type Mode int

const (
	ModeKubeconfig Mode = iota // a kubeconfig context (the default)
	ModeServer                 // --bootstrap-server with a bearer token and a CA
	ModeInCluster              // the pod's mounted ServiceAccount credentials
)

func (m Mode) String() string {
	switch m {
	case ModeKubeconfig:
		return "kubeconfig"
	case ModeServer:
		return "server"
	case ModeInCluster:
		return "in-cluster"
	default:
		return fmt.Sprintf("Mode(%d)", int(m))
	}
}

// Options selects and configures the bootstrap identity. The zero value means
// the current context of the standard kubeconfig.
type Options struct {
	Kubeconfig            string // --bootstrap-kubeconfig; "" means the standard loading rules ($KUBECONFIG list, else ~/.kube/config)
	Context               string // --bootstrap-context; "" means the kubeconfig's current-context
	Server                string // --bootstrap-server
	TokenFile             string // --bootstrap-token-file
	Token                 string // from env KUBE_SA_TOKEN_BOOTSTRAP_TOKEN (never a flag: argv is visible in ps); "" falls back to Getenv(TokenEnv)
	CAFile                string // --bootstrap-certificate-authority
	InsecureSkipTLSVerify bool   // --bootstrap-insecure-skip-tls-verify
	InCluster             bool   // --bootstrap-in-cluster
	UserAgent             string

	Getenv func(string) string                         // nil means os.Getenv
	Warn   func(message string)                        // server Warning headers and local warnings; nil drops them
	Logf   func(level int, format string, args ...any) // debug logs; nil drops them. Never receives a secret.

	// Timeout is the --timeout of the whole run, named in timeout errors.
	// Zero means messages state the time the request took instead.
	Timeout time.Duration

	// Paths of the mounted ServiceAccount credentials in in-cluster mode; ""
	// means /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt}.
	InClusterTokenFile, InClusterCAFile string
}

// Mode returns the source that the options select.
func (o Options) Mode() Mode {
	switch {
	case o.InCluster:
		return ModeInCluster
	case o.Server != "":
		return ModeServer
	default:
		return ModeKubeconfig
	}
}

// Validate reports usage errors (ExitUsage) before any network call: flags of
// different modes mixed, a missing or doubled token or CA in server mode, a
// server URL that is not https, and an unreadable or empty token or CA file.
// Each message names the flag, the value (never a token) and the fix.
func (o Options) Validate() error {
	switch o.Mode() {
	case ModeInCluster:
		return o.validateInCluster()
	case ModeServer:
		return o.validateServer()
	default:
		return o.validateKubeconfig()
	}
}

func (o Options) validateInCluster() error {
	conflicts := []struct {
		set  bool
		name string
	}{
		{o.Kubeconfig != "", flagKubeconfig},
		{o.Context != "", flagContext},
		{o.Server != "", flagServer},
		{o.TokenFile != "", flagTokenFile},
		{o.CAFile != "", flagCAFile},
		{o.InsecureSkipTLSVerify, flagInsecure},
	}
	for _, c := range conflicts {
		if c.set {
			return Usagef("%s cannot be combined with %s: the in-cluster config already names the server and credentials; drop one of them",
				flagInCluster, c.name)
		}
	}
	if o.envToken() != "" {
		return Usagef("%s is set, but it is used only with %s and not with %s; unset it",
			TokenEnv, flagServer, flagInCluster)
	}
	return nil
}

func (o Options) validateKubeconfig() error {
	serverOnly := []struct {
		set  bool
		name string
	}{
		{o.TokenFile != "", flagTokenFile},
		{o.CAFile != "", flagCAFile},
		{o.InsecureSkipTLSVerify, flagInsecure},
	}
	for _, f := range serverOnly {
		if f.set {
			return Usagef("%s requires %s: pass the API server URL with %s, or drop %s to use the bootstrap kubeconfig",
				f.name, flagServer, flagServer, f.name)
		}
	}
	if o.envToken() != "" {
		return Usagef("%s is set, but it is used only with %s: pass %s, or unset %s to use the bootstrap kubeconfig",
			TokenEnv, flagServer, flagServer, TokenEnv)
	}
	return nil
}

func (o Options) validateServer() error {
	if o.Kubeconfig != "" || o.Context != "" {
		return Usagef("%s cannot be combined with %s or %s: pick either a server URL with a token, or a kubeconfig context",
			flagServer, flagKubeconfig, flagContext)
	}
	if err := validateServerURL(o.Server); err != nil {
		return err
	}

	hasEnvToken := o.envToken() != ""
	switch {
	case o.TokenFile == "" && !hasEnvToken:
		return Usagef("%s %s needs a bearer token: pass %s, or set %s",
			flagServer, o.Server, flagTokenFile, TokenEnv)
	case o.TokenFile != "" && hasEnvToken:
		return Usagef("both %s %q and %s are set: keep one of them", flagTokenFile, o.TokenFile, TokenEnv)
	case hasEnvToken && !validBearerToken(o.envToken()):
		return Usagef("%s contains white space or control characters inside the token: it must contain one bearer token", TokenEnv)
	}

	switch {
	case o.CAFile == "" && !o.InsecureSkipTLSVerify:
		return Usagef("%s %s needs %s to verify the server: pass the CA file, or (for tests only) %s",
			flagServer, o.Server, flagCAFile, flagInsecure)
	case o.CAFile != "" && o.InsecureSkipTLSVerify:
		return Usagef("both %s %q and %s are set: keep one of them", flagCAFile, o.CAFile, flagInsecure)
	}

	if o.TokenFile != "" {
		if _, err := readTokenFile(flagTokenFile, o.TokenFile); err != nil {
			return err
		}
	}
	if o.CAFile != "" {
		if _, err := readCAFile(flagCAFile, o.CAFile); err != nil {
			return err
		}
	}
	return nil
}

// validateServerURL accepts https://host[:port] with an optional path prefix,
// as used by API servers behind an authenticating proxy. A bearer token must
// not travel in clear text, so http:// is rejected.
func validateServerURL(server string) error {
	const fix = "use https://host[:port], for example https://10.0.0.1:6443"
	u, err := url.Parse(server)
	if err != nil {
		return Usagef("invalid %s %q: %v; %s", flagServer, server, err, fix)
	}
	switch {
	case u.Scheme != "https":
		return Usagef("invalid %s %q: the scheme must be https, because the bearer token must not travel in clear text; %s",
			flagServer, server, fix)
	case u.Host == "" || u.Hostname() == "":
		return Usagef("invalid %s %q: the host is missing; %s", flagServer, server, fix)
	case u.User != nil:
		return Usagef("invalid %s %q (user information removed): user information in the URL is not supported; pass the token with %s or %s",
			flagServer, withoutUserinfo(u), flagTokenFile, TokenEnv)
	case u.RawQuery != "" || u.Fragment != "":
		return Usagef("invalid %s %q: a query or fragment is not allowed; %s", flagServer, server, fix)
	}
	return nil
}

func withoutUserinfo(u *url.URL) string {
	clean := *u
	clean.User = nil
	return clean.String()
}

// readTokenFile returns the trimmed bearer token in path. Errors name the flag
// and the path, never the content.
func readTokenFile(flag, path string) (string, error) {
	data, err := readFileOnce(path)
	if err != nil {
		return "", Usagef("cannot read %s %q: %w; check the path and its permissions", flag, path, err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", Usagef("%s %q is empty: write the bearer token into it", flag, path)
	}
	if !validBearerToken(token) {
		return "", Usagef("%s %q contains white space or control characters inside the token: it must contain one bearer token", flag, path)
	}
	return token, nil
}

// validBearerToken reports whether token can travel in an Authorization
// header: no white space and no control characters.
func validBearerToken(token string) bool {
	return strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }) < 0
}

// readCAFile returns the bytes of a file that contains at least one PEM
// CERTIFICATE block. It does not parse the certificates, because it runs on
// the cache-hit path and x509 parsing costs more than the rest of that path.
// parseCAFile parses them before the CA is used.
func readCAFile(flag, path string) ([]byte, error) {
	data, err := readFileOnce(path)
	if err != nil {
		return nil, Usagef("cannot read %s %q: %w; check the path and its permissions", flag, path, err)
	}
	if strings.TrimSpace(string(data)) == "" {
		return nil, Usagef("%s %q is empty: it must contain the PEM-encoded CA certificate of the API server", flag, path)
	}
	if !hasPEMCertificate(data) {
		return nil, Usagef("%s %q contains no PEM certificate: it must contain the PEM-encoded CA certificate of the API server", flag, path)
	}
	return data, nil
}

// parseCAFile is readCAFile followed by parsing the certificates, for the
// miss path, so a damaged CA file is a usage error naming the file rather than
// a TLS failure.
func parseCAFile(flag, path string) ([]byte, error) {
	data, err := readCAFile(flag, path)
	if err != nil {
		return nil, err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return nil, Usagef("%s %q contains no valid PEM certificate: it must contain the PEM-encoded CA certificate of the API server", flag, path)
	}
	return data, nil
}

// hasPEMCertificate reports whether data contains a PEM block of type CERTIFICATE.
func hasPEMCertificate(data []byte) bool {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return false
		}
		if block.Type == "CERTIFICATE" {
			return true
		}
	}
}

// Describe names the bootstrap source for messages, such as
// `kubeconfig "/home/u/.kube/config" (context "admin")`,
// `kubeconfig "/home/u/.kube/config" (current context)`,
// `server https://10.0.0.1:6443` or `in-cluster config`.
func (o Options) Describe() string {
	switch o.Mode() {
	case ModeInCluster:
		return "in-cluster config"
	case ModeServer:
		return "server " + o.Server
	}

	context := "(current context)"
	if o.Context != "" {
		context = fmt.Sprintf("(context %q)", o.Context)
	}
	return fmt.Sprintf("kubeconfig %q %s", joinPathList(o.kubeconfigFiles()), context)
}

func joinPathList(paths []string) string {
	return strings.Join(paths, string(filepath.ListSeparator))
}

// kubeconfigFiles lists the files the clientcmd loading rules read, in
// precedence order: o.Kubeconfig alone when set, else each entry of
// $KUBECONFIG (empty and repeated entries dropped), else ~/.kube/config.
// Paths are absolute where the working directory is known.
func (o Options) kubeconfigFiles() []string {
	if o.Kubeconfig != "" {
		return []string{absolutePath(o.Kubeconfig)}
	}

	var files []string
	seen := map[string]bool{}
	for _, entry := range filepath.SplitList(o.getenv(clientcmd.RecommendedConfigPathEnvVar)) {
		if entry == "" {
			continue
		}
		path := absolutePath(entry)
		if seen[path] {
			continue
		}
		seen[path] = true
		files = append(files, path)
	}
	if len(files) == 0 {
		files = []string{absolutePath(clientcmd.RecommendedHomeFile)}
	}
	return files
}

func absolutePath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	return abs
}

func (o Options) getenv(key string) string {
	if o.Getenv == nil {
		return os.Getenv(key)
	}
	return o.Getenv(key)
}

// envToken returns the trimmed bootstrap token given through TokenEnv.
func (o Options) envToken() string {
	if token := strings.TrimSpace(o.Token); token != "" {
		return token
	}
	return strings.TrimSpace(o.getenv(TokenEnv))
}

// serverToken returns the bootstrap bearer token of server mode, from the
// token file or the environment.
func (o Options) serverToken() (string, error) {
	if o.TokenFile != "" {
		return readTokenFile(flagTokenFile, o.TokenFile)
	}
	if token := o.envToken(); token != "" {
		if !validBearerToken(token) {
			return "", Usagef("%s contains white space or control characters inside the token: it must contain one bearer token", TokenEnv)
		}
		return token, nil
	}
	return "", Usagef("%s %s needs a bearer token: pass %s, or set %s", flagServer, o.Server, flagTokenFile, TokenEnv)
}

func (o Options) inClusterTokenFile() string {
	if o.InClusterTokenFile != "" {
		return o.InClusterTokenFile
	}
	return defaultInClusterTokenFile
}

func (o Options) inClusterCAFile() string {
	if o.InClusterCAFile != "" {
		return o.InClusterCAFile
	}
	return defaultInClusterCAFile
}

var errNotInCluster = errors.New("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set")

// inClusterServer returns the API server URL that the kubelet publishes to
// every pod, in the form rest.InClusterConfig builds (IPv6-safe).
func (o Options) inClusterServer() (string, error) {
	host, port := o.getenv("KUBERNETES_SERVICE_HOST"), o.getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return "", Usagef("%s: %w; this process does not run in a pod, so use a bootstrap kubeconfig or %s instead",
			flagInCluster, errNotInCluster, flagServer)
	}
	return "https://" + net.JoinHostPort(host, port), nil
}

// fileContents memoizes readFileOnce, keyed by path.
var fileContents sync.Map

// readFileOnce reads a pipe at most once per process and a regular file on
// every call. The token and CA files are checked, fingerprinted and then
// used, and a pipe such as the /dev/fd/63 of
// `--bootstrap-token-file <(vault read ...)` can be read only once. Failed
// reads are not remembered.
func readFileOnce(path string) ([]byte, error) {
	if data, ok := fileContents.Load(path); ok {
		return data.([]byte), nil
	}
	if isRegularFile(path) {
		return os.ReadFile(path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	actual, _ := fileContents.LoadOrStore(path, data)
	return actual.([]byte), nil
}

// isRegularFile reports whether path names a regular file, which client-go
// can read again later, unlike a pipe.
func isRegularFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// BearerToken returns the bootstrap bearer token of the server mode, from the
// token file or TokenEnv, so that callers can redact it. It returns "" in
// other modes or when the token cannot be read.
func (o Options) BearerToken() string {
	if o.Mode() != ModeServer {
		return ""
	}
	token, err := o.serverToken()
	if err != nil {
		return ""
	}
	return token
}
