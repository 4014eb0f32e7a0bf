package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	// Registers the oidc auth-provider, so that bootstrap kubeconfigs using it
	// work. Exec plugins and client certificates need no registration.
	_ "k8s.io/client-go/plugin/pkg/client/auth/oidc"
)

// Client is a bootstrap client ready for TokenRequests. Building one loads the
// bootstrap kubeconfig, so callers build it only on a cache miss.
type Client struct {
	rest     *rest.RESTClient
	mode     Mode
	describe string // resolved description, see Describe
	server   string
	user     string // kubeconfig user of the bootstrap context; "" in other modes
	redact   redactor
	warn     func(string)
	logf     func(level int, format string, args ...any)
	now      func() time.Time
	timeout  time.Duration // Options.Timeout
}

// resolvedConfig is the outcome of reading one bootstrap source.
type resolvedConfig struct {
	config   *rest.Config
	describe string
	user     string
}

// NewClient validates the options and builds the client-go rest.Config of the
// bootstrap identity. It never prompts and never reads stdin. A missing
// kubeconfig or context, and a bootstrap user that runs kube-sa-token itself,
// are usage errors (ExitUsage) that name the fix.
//
// In kubeconfig mode it also sets RecursionEnv in this process's environment,
// so that an exec plugin started by client-go for the bootstrap user inherits
// it and CheckRecursion in that child fails fast.
func (o Options) NewClient() (*Client, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}

	var (
		resolved *resolvedConfig
		err      error
	)
	switch o.Mode() {
	case ModeServer:
		resolved, err = o.serverConfig()
	case ModeInCluster:
		resolved, err = o.inClusterConfig()
	default:
		resolved, err = o.kubeconfigConfig()
	}
	if err != nil {
		return nil, err
	}
	return o.newClient(resolved)
}

// serverConfig builds the config of --bootstrap-server. A token file is also
// passed as BearerTokenFile, so client-go rereads it when it rotates.
func (o Options) serverConfig() (*resolvedConfig, error) {
	token, err := o.serverToken()
	if err != nil {
		return nil, err
	}

	config := &rest.Config{Host: o.Server, BearerToken: token}
	if isRegularFile(o.TokenFile) {
		config.BearerTokenFile = o.TokenFile
	}
	if o.InsecureSkipTLSVerify {
		config.Insecure = true
		o.warnf("TLS verification of the bootstrap server %s is off (%s): anyone on the network path can read the bootstrap token and the minted token; pass %s instead",
			o.Server, flagInsecure, flagCAFile)
	} else {
		ca, err := parseCAFile(flagCAFile, o.CAFile)
		if err != nil {
			return nil, err
		}
		// The bytes, not the path: the file may be a pipe, read only once.
		config.CAData = ca
	}
	return &resolvedConfig{config: config, describe: o.Describe()}, nil
}

// inClusterConfig mirrors rest.InClusterConfig with overridable file paths.
func (o Options) inClusterConfig() (*resolvedConfig, error) {
	server, err := o.inClusterServer()
	if err != nil {
		return nil, err
	}
	tokenFile, caFile := o.inClusterTokenFile(), o.inClusterCAFile()
	token, err := readTokenFile(inClusterTokenLabel, tokenFile)
	if err != nil {
		return nil, err
	}
	if _, err := parseCAFile(inClusterCALabel, caFile); err != nil {
		return nil, err
	}

	config := &rest.Config{
		Host:            server,
		BearerToken:     token,
		BearerTokenFile: tokenFile, // the kubelet rotates this file, and client-go rereads it
		TLSClientConfig: rest.TLSClientConfig{CAFile: caFile},
	}
	return &resolvedConfig{config: config, describe: fmt.Sprintf("in-cluster config (server %s)", server)}, nil
}

// kubeconfigConfig loads the bootstrap kubeconfig with the same files that
// Identity fingerprints, and resolves the bootstrap context.
func (o Options) kubeconfigConfig() (*resolvedConfig, error) {
	files := o.kubeconfigFiles()
	paths := joinPathList(files)
	rules := &clientcmd.ClientConfigLoadingRules{}
	if o.Kubeconfig != "" {
		rules.ExplicitPath = files[0]
	} else {
		rules.Precedence = files
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context})

	raw, err := loader.RawConfig()
	if err != nil {
		return nil, o.kubeconfigLoadError(paths, err)
	}
	contextName, kubeContext, err := o.selectContext(paths, &raw)
	if err != nil {
		return nil, err
	}
	user := raw.AuthInfos[kubeContext.AuthInfo]
	switch {
	case kubeContext.AuthInfo == "":
		return nil, Usagef("bootstrap context %q in kubeconfig %q names no user, so requests would be anonymous; set its user or pick another context with %s",
			contextName, paths, flagContext)
	case user == nil:
		return nil, Usagef("bootstrap context %q in kubeconfig %q names user %q, which the kubeconfig does not define, so requests would be anonymous; add the user or pick another context with %s",
			contextName, paths, kubeContext.AuthInfo, flagContext)
	case !hasCredentials(user):
		return nil, Usagef("user %q of bootstrap context %q in kubeconfig %q has no credentials, so requests would be anonymous; give it a token, client certificate, exec plugin or auth-provider, or pick another context with %s",
			kubeContext.AuthInfo, contextName, paths, flagContext)
	}
	if err := checkExecRecursion(contextName, kubeContext.AuthInfo, raw.AuthInfos[kubeContext.AuthInfo]); err != nil {
		return nil, err
	}

	config, err := loader.ClientConfig()
	if err != nil {
		return nil, Usagef("invalid bootstrap context %q in kubeconfig %q: %s; fix its cluster and user entries, or pick another context with %s",
			contextName, paths, redactor{}.errorText(err), flagContext)
	}
	if strings.HasPrefix(strings.ToLower(config.Host), "http://") {
		return nil, Usagef("the cluster of bootstrap context %q in kubeconfig %q has server %s: credentials must not travel in clear text, so use an https:// server",
			contextName, paths, config.Host)
	}
	if config.ExecProvider != nil {
		neverPrompt(config.ExecProvider)
	}

	// Child processes, such as the exec plugin of the bootstrap user, inherit
	// this variable, so a kube-sa-token started by them stops at once.
	if err := os.Setenv(RecursionEnv, "1"); err != nil {
		o.logf(1, "cannot set %s: %v", RecursionEnv, err)
	}

	return &resolvedConfig{
		config:   config,
		describe: fmt.Sprintf("kubeconfig %q context %q (user %q, server %s)", paths, contextName, kubeContext.AuthInfo, config.Host),
		user:     kubeContext.AuthInfo,
	}, nil
}

func (o Options) kubeconfigLoadError(paths string, err error) error {
	if o.Kubeconfig != "" && errors.Is(err, fs.ErrNotExist) {
		return Usagef("bootstrap kubeconfig %q not found: pass an existing file with %s", paths, flagKubeconfig)
	}
	// The loader's errors name the file and the YAML or JSON problem. They are
	// redacted in case a decoder quotes part of the file.
	return Usagef("cannot load bootstrap kubeconfig %q: %s; fix the file, or pass another one with %s",
		paths, redactor{}.errorText(err), flagKubeconfig)
}

// selectContext returns the bootstrap context: the --bootstrap-context value,
// else the current-context of the kubeconfig.
func (o Options) selectContext(paths string, raw *clientcmdapi.Config) (string, *clientcmdapi.Context, error) {
	available := contextNames(raw)
	if len(raw.Contexts) == 0 {
		if !o.anyKubeconfigExists() {
			return "", nil, Usagef("no bootstrap kubeconfig found: %q does not exist; pass a kubeconfig with %s, or use %s or %s",
				paths, flagKubeconfig, flagServer, flagInCluster)
		}
		return "", nil, Usagef("bootstrap kubeconfig %q defines no contexts (check the indentation of its contexts: list); pass a kubeconfig with contexts using %s, or use %s or %s",
			paths, flagKubeconfig, flagServer, flagInCluster)
	}

	name := o.Context
	if name == "" {
		name = raw.CurrentContext
	}
	if name == "" {
		return "", nil, Usagef("bootstrap kubeconfig %q sets no current-context: pass %s with one of %s",
			paths, flagContext, available)
	}

	kubeContext, ok := raw.Contexts[name]
	if !ok {
		return "", nil, Usagef("context %q not found in bootstrap kubeconfig %q: pass %s with one of %s",
			name, paths, flagContext, available)
	}
	return name, kubeContext, nil
}

func contextNames(raw *clientcmdapi.Config) string {
	names := make([]string, 0, len(raw.Contexts))
	for name := range raw.Contexts {
		names = append(names, fmt.Sprintf("%q", name))
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// neverPrompt keeps an exec plugin of the bootstrap user away from stdin,
// because kube-sa-token is itself an exec plugin: its stdin belongs to kubectl
// and may carry a manifest (kubectl apply -f -).
func neverPrompt(exec *clientcmdapi.ExecConfig) {
	exec.InteractiveMode = clientcmdapi.NeverExecInteractiveMode
	exec.StdinUnavailable = true
	exec.StdinUnavailableMessage = "kube-sa-token runs the bootstrap exec plugin without a terminal and never prompts"
}

// newClient finishes the rest.Config shared by all modes and builds the REST
// client for the core v1 API, under which the TokenRequest subresource lives.
func (o Options) newClient(resolved *resolvedConfig) (*Client, error) {
	config := resolved.config
	redact := redactor{}.withSecret(config.BearerToken).withSecret(config.Password)

	client := &Client{
		mode:     o.Mode(),
		describe: resolved.describe,
		server:   config.Host,
		user:     resolved.user,
		redact:   redact,
		warn:     o.Warn,
		logf:     o.Logf,
		now:      time.Now,
		timeout:  o.Timeout,
	}

	config.UserAgent = o.UserAgent
	if config.UserAgent == "" {
		config.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	config.WarningHandlerWithContext = warningRelay{client: client}
	config.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return &exchangeRecorder{next: next, now: client.clock}
	})
	config.APIPath = "/api"
	config.GroupVersion = &schema.GroupVersion{Version: "v1"}
	config.NegotiatedSerializer = tokenCodecs().WithoutConversion()
	config.ContentType = "application/json"
	config.AcceptContentTypes = "application/json"

	restClient, err := rest.RESTClientFor(config)
	if err != nil {
		return nil, Usagef("cannot build a client for the bootstrap identity %s: %s; fix its server URL, CA and credentials",
			resolved.describe, redact.errorText(err))
	}
	// A redirect would send the bootstrap credentials to another origin,
	// perhaps in clear text, because client-go adds them to every request.
	restClient.Client.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		return &redirectError{location: req.URL.Redacted()}
	}
	client.rest = restClient
	client.debugf(4, "bootstrap identity: %s", client.describe)
	return client, nil
}

// Describe names the resolved bootstrap source for messages, such as
// `kubeconfig "/p" context "admin" (user "admin", server https://127.0.0.1:6443)`.
func (c *Client) Describe() string { return c.describe }

// Server returns the URL of the API server that receives the TokenRequest.
func (c *Client) Server() string { return c.server }

func (c *Client) clock() time.Time {
	if c.now == nil {
		return time.Now()
	}
	return c.now()
}

// debugf passes a redacted debug line to Options.Logf.
func (c *Client) debugf(level int, format string, args ...any) {
	if c.logf == nil {
		return
	}
	c.logf(level, "%s", c.redact.String(fmt.Sprintf(format, args...)))
}

func (o Options) warnf(format string, args ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, args...))
	}
}

func (o Options) logf(level int, format string, args ...any) {
	if o.Logf != nil {
		o.Logf(level, format, args...)
	}
}

// warningRelay collects server Warning headers in the exchange of the request,
// so that RequestToken can pass them on once it has the minted token
// to redact. Like client-go's default handler, it ignores codes other than 299.
type warningRelay struct {
	client *Client
}

func (w warningRelay) HandleWarningHeaderWithContext(ctx context.Context, code int, _ string, text string) {
	if code != 299 || text == "" {
		return
	}
	if record, ok := ctx.Value(exchangeKey{}).(*exchange); ok {
		record.addWarning(text)
		return
	}
	w.client.relayWarning(w.client.redact, text)
}

// relayWarnings passes the warnings collected in record to Options.Warn.
func (c *Client) relayWarnings(record *exchange, redact redactor) {
	for _, text := range record.takeWarnings() {
		c.relayWarning(redact, text)
	}
}

func (c *Client) relayWarning(redact redactor, text string) {
	if c.warn != nil {
		c.warn(redact.String(text))
	}
}

// exchangeKey is the context key of the *exchange of one TokenRequest.
type exchangeKey struct{}

// exchange records what the transport saw during one TokenRequest.
type exchange struct {
	mu       sync.Mutex
	sent     time.Time // local clock when the request left with its credentials
	date     string    // Date header of the response
	warnings []string  // texts of Warning headers, not yet redacted
}

func (e *exchange) addWarning(text string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.warnings = append(e.warnings, text)
}

func (e *exchange) takeWarnings() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	warnings := e.warnings
	e.warnings = nil
	return warnings
}

func (e *exchange) markSent(at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sent = at
}

func (e *exchange) setDate(date string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.date = date
}

func (e *exchange) wasSent() bool {
	sent, _ := e.snapshot()
	return !sent.IsZero()
}

func (e *exchange) snapshot() (sent time.Time, date string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sent, e.date
}

// exchangeRecorder is the innermost wrapper of the client-go transport: the
// auth wrappers (bearer token, exec plugin, auth-provider) run outside it, so
// a call to RoundTrip means the credentials are ready and the request is
// going out now.
type exchangeRecorder struct {
	next http.RoundTripper
	now  func() time.Time
}

func (r *exchangeRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	record, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if record != nil {
		record.markSent(r.now())
	}
	resp, err := r.next.RoundTrip(req)
	if record != nil && resp != nil {
		record.setDate(resp.Header.Get("Date"))
	}
	return resp, err
}

// WrappedRoundTripper lets client-go reach the transport below, for example
// to cancel requests.
func (r *exchangeRecorder) WrappedRoundTripper() http.RoundTripper { return r.next }

// redirectError stops a TokenRequest whose response is a redirect.
type redirectError struct{ location string }

func (e *redirectError) Error() string {
	return "the API server redirected the TokenRequest to " + e.location
}

// anyKubeconfigExists reports whether any of the bootstrap kubeconfig files exists.
func (o Options) anyKubeconfigExists() bool {
	for _, path := range o.kubeconfigFiles() {
		if _, err := os.Stat(path); err == nil {
			return true
		}
	}
	return false
}

// hasCredentials reports whether user carries any way to authenticate.
func hasCredentials(user *clientcmdapi.AuthInfo) bool {
	return user.Token != "" || user.TokenFile != "" ||
		user.ClientCertificate != "" || len(user.ClientCertificateData) > 0 ||
		user.Username != "" || user.Exec != nil || user.AuthProvider != nil
}
