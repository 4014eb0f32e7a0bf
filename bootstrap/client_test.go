package bootstrap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// requestThrough builds a client from options and sends one TokenRequest.
func requestThrough(t *testing.T, options Options) (*Client, Token) {
	t.Helper()
	client, err := options.NewClient()
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	token, err := client.RequestToken(context.Background(), TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount})
	if err != nil {
		t.Fatalf("RequestToken: %v", err)
	}
	return client, token
}

func TestKubeconfigBearerToken(t *testing.T) {
	t.Setenv(RecursionEnv, "")
	server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
	kubeconfig := writeKubeconfig(t, kubeconfigFor(server, "minter", map[string]*clientcmdapi.AuthInfo{
		"minter": {Token: bootstrapToken},
	}))

	client, token := requestThrough(t, Options{Kubeconfig: kubeconfig, Getenv: envMap(nil)})

	if token.Value != mintedToken {
		t.Errorf("token = %q, want the minted token", token.Value)
	}
	if got := server.onlyRequest(t).Authorization; got != "Bearer "+bootstrapToken {
		t.Errorf("Authorization header does not carry the kubeconfig user's token")
	}
	wantDescribe := fmt.Sprintf(`kubeconfig %q context "minter" (user "minter", server %s)`, kubeconfig, server.URL)
	if client.Describe() != wantDescribe {
		t.Errorf("Describe() = %s, want %s", client.Describe(), wantDescribe)
	}
	if client.Server() != server.URL {
		t.Errorf("Server() = %s, want %s", client.Server(), server.URL)
	}
	if got := os.Getenv(RecursionEnv); got != "1" {
		t.Errorf("%s = %q after NewClient, want 1", RecursionEnv, got)
	}
}

func TestKubeconfigClientCertificate(t *testing.T) {
	t.Setenv(RecursionEnv, "")
	ca := newTestCA(t)
	clientCAs := x509.NewCertPool()
	clientCAs.AddCert(ca.cert)
	server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), func(s *httptest.Server) {
		s.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs}
	})
	certPEM, keyPEM := ca.issueClientCert(t, "ops-minter")
	kubeconfig := writeKubeconfig(t, kubeconfigFor(server, "minter", map[string]*clientcmdapi.AuthInfo{
		"minter": {
			ClientCertificate: writeFile(t, "client.crt", string(certPEM)),
			ClientKey:         writeFile(t, "client.key", string(keyPEM)),
		},
	}))

	_, token := requestThrough(t, Options{Kubeconfig: kubeconfig, Getenv: envMap(nil)})

	if token.Value != mintedToken {
		t.Errorf("token = %q, want the minted token", token.Value)
	}
	request := server.onlyRequest(t)
	if request.ClientCN != "ops-minter" {
		t.Errorf("client certificate CN = %q, want ops-minter", request.ClientCN)
	}
	if request.Authorization != "" {
		t.Errorf("Authorization header is set, want only the client certificate")
	}
}

// execPluginScript prints an ExecCredential with token, after checking that
// it runs without a terminal and with RecursionEnv set.
const execPluginScript = `#!/bin/sh
if [ "$KUBE_SA_TOKEN_BOOTSTRAP_ACTIVE" != "1" ]; then
  echo "KUBE_SA_TOKEN_BOOTSTRAP_ACTIVE is not set" >&2
  exit 1
fi
case "$KUBERNETES_EXEC_INFO" in
  *'"interactive":false'*) ;;
  *) echo "exec plugin was started as interactive: $KUBERNETES_EXEC_INFO" >&2; exit 1 ;;
esac
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}\n' "$1"
`

func TestKubeconfigExecPlugin(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the exec plugin of this test is a POSIX shell script")
	}
	t.Setenv(RecursionEnv, "")
	server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
	plugin := filepath.Join(t.TempDir(), "fake-login")
	if err := os.WriteFile(plugin, []byte(execPluginScript), 0o700); err != nil {
		t.Fatalf("write exec plugin: %v", err)
	}
	execToken := "FAKEBOOT.exec0123456789"
	kubeconfig := writeKubeconfig(t, kubeconfigFor(server, "minter", map[string]*clientcmdapi.AuthInfo{
		"minter": {Exec: &clientcmdapi.ExecConfig{
			APIVersion: "client.authentication.k8s.io/v1",
			Command:    plugin,
			Args:       []string{execToken},
			// Always fails without a terminal unless NewClient overrides it.
			InteractiveMode: clientcmdapi.AlwaysExecInteractiveMode,
		}},
	}))

	_, token := requestThrough(t, Options{Kubeconfig: kubeconfig, Getenv: envMap(nil)})

	if token.Value != mintedToken {
		t.Errorf("token = %q, want the minted token", token.Value)
	}
	if got := server.onlyRequest(t).Authorization; got != "Bearer "+execToken {
		t.Errorf("Authorization header does not carry the exec plugin's token")
	}
}

func TestKubeconfigExecPluginTimeout(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the exec plugin of this test is a POSIX shell script")
	}
	t.Setenv(RecursionEnv, "")
	server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
	plugin := filepath.Join(t.TempDir(), "slow-login")
	if err := os.WriteFile(plugin, []byte("#!/bin/sh\nexec sleep 3 </dev/null >/dev/null 2>&1\n"), 0o700); err != nil {
		t.Fatalf("write exec plugin: %v", err)
	}
	kubeconfig := writeKubeconfig(t, kubeconfigFor(server, "minter", map[string]*clientcmdapi.AuthInfo{
		"minter": {Exec: &clientcmdapi.ExecConfig{
			APIVersion: "client.authentication.k8s.io/v1", Command: plugin,
			InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		}},
	}))
	client, err := Options{Kubeconfig: kubeconfig, Getenv: envMap(nil)}.NewClient()
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()

	start := time.Now()
	_, err = client.RequestToken(ctx, TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount})
	elapsed := time.Since(start)

	if got := exitCodeOf(err); got != ExitUnreachable {
		t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitUnreachable, err)
	}
	if elapsed > time.Second {
		t.Errorf("RequestToken returned after %s, want about 300ms", elapsed)
	}
	for _, part := range []string{"timed out (after 300ms) while obtaining the bootstrap credentials", `context "minter"`} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error does not contain %q:\n%s", part, err)
		}
	}
	if got := len(server.Requests()); got != 0 {
		t.Errorf("server received %d requests, want 0", got)
	}
}

func TestKubeconfigExecPluginFailure(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the exec plugin of this test is a POSIX shell script")
	}
	t.Setenv(RecursionEnv, "")
	server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
	plugin := filepath.Join(t.TempDir(), "broken-login")
	if err := os.WriteFile(plugin, []byte("#!/bin/sh\necho 'refresh token expired' >&2\nexit 7\n"), 0o700); err != nil {
		t.Fatalf("write exec plugin: %v", err)
	}
	kubeconfig := writeKubeconfig(t, kubeconfigFor(server, "minter", map[string]*clientcmdapi.AuthInfo{
		"minter": {Exec: &clientcmdapi.ExecConfig{
			APIVersion: "client.authentication.k8s.io/v1", Command: plugin,
			InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		}},
	}))
	client, err := Options{Kubeconfig: kubeconfig, Getenv: envMap(nil)}.NewClient()
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}

	_, err = client.RequestToken(context.Background(), TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount})

	if got := exitCodeOf(err); got != ExitFailure {
		t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitFailure, err)
	}
	for _, part := range []string{"cannot obtain the bootstrap credentials", `context "minter"`, "failed with exit code 7", `renew the credentials of user "minter"`} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error does not contain %q:\n%s", part, err)
		}
	}
	if got := len(server.Requests()); got != 0 {
		t.Errorf("server received %d requests, want 0", got)
	}
}

func TestKubeconfigContextSelection(t *testing.T) {
	t.Setenv(RecursionEnv, "")
	server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
	kubeconfig := writeKubeconfig(t, kubeconfigFor(server, "current", map[string]*clientcmdapi.AuthInfo{
		"current": {Token: "FAKEBOOT.current0123456789"},
		"other":   {Token: "FAKEBOOT.other0123456789"},
	}))
	tests := []struct {
		name      string
		context   string
		wantToken string
	}{
		{"current context", "", "FAKEBOOT.current0123456789"},
		{"flag selects another context", "other", "FAKEBOOT.other0123456789"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(server.Requests())

			requestThrough(t, Options{Kubeconfig: kubeconfig, Context: tt.context, Getenv: envMap(nil)})

			requests := server.Requests()
			if len(requests) != before+1 {
				t.Fatalf("server received %d new requests, want 1", len(requests)-before)
			}
			if got := requests[len(requests)-1].Authorization; got != "Bearer "+tt.wantToken {
				t.Errorf("Authorization header carries the wrong user's token")
			}
		})
	}
}

func TestKubeconfigFromKubeconfigEnvList(t *testing.T) {
	t.Setenv(RecursionEnv, "")
	server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
	kubeconfig := writeKubeconfig(t, kubeconfigFor(server, "minter", map[string]*clientcmdapi.AuthInfo{
		"minter": {Token: bootstrapToken},
	}))
	absent := filepath.Join(t.TempDir(), "absent")
	list := absent + string(filepath.ListSeparator) + kubeconfig
	options := Options{Getenv: envMap(map[string]string{"KUBECONFIG": list})}

	client, token := requestThrough(t, options)

	if token.Value != mintedToken {
		t.Errorf("token = %q, want the minted token", token.Value)
	}
	if !strings.Contains(client.Describe(), fmt.Sprintf("kubeconfig %q", list)) {
		t.Errorf("Describe() = %s, want both files of $KUBECONFIG", client.Describe())
	}
}

func TestKubeconfigUsageErrors(t *testing.T) {
	t.Setenv(RecursionEnv, "")
	server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
	valid := writeKubeconfig(t, kubeconfigFor(server, "current", map[string]*clientcmdapi.AuthInfo{
		"current": {Token: bootstrapToken},
		"other":   {Token: bootstrapToken},
	}))
	noCurrent := writeKubeconfig(t, kubeconfigFor(server, "", map[string]*clientcmdapi.AuthInfo{
		"other": {Token: bootstrapToken},
	}))
	missingCluster := kubeconfigFor(server, "orphan", map[string]*clientcmdapi.AuthInfo{"orphan": {Token: bootstrapToken}})
	missingCluster.Contexts["orphan"].Cluster = "gone"
	orphan := writeKubeconfig(t, missingCluster)
	missingUserConfig := kubeconfigFor(server, "ghost", map[string]*clientcmdapi.AuthInfo{"ghost": {Token: bootstrapToken}})
	delete(missingUserConfig.AuthInfos, "ghost")
	missingUser := writeKubeconfig(t, missingUserConfig)
	emptyUser := writeKubeconfig(t, kubeconfigFor(server, "empty", map[string]*clientcmdapi.AuthInfo{"empty": {}}))
	plainHTTPConfig := kubeconfigFor(server, "plain", map[string]*clientcmdapi.AuthInfo{"plain": {Token: bootstrapToken}})
	plainHTTPConfig.Clusters["test"].Server = "http://127.0.0.1:1"
	plainHTTPConfig.Clusters["test"].CertificateAuthority = ""
	plainHTTP := writeKubeconfig(t, plainHTTPConfig)
	absent := filepath.Join(t.TempDir(), "absent")
	malformed := writeFile(t, "malformed", "apiVersion: v1\nusers:\n- name: x\n  user:\n    token: "+bootstrapToken+"\n  - broken: [\n")
	tests := []struct {
		name      string
		options   Options
		wantParts []string
	}{
		{
			name:      "missing context",
			options:   Options{Kubeconfig: valid, Context: "prod"},
			wantParts: []string{`context "prod" not found`, valid, flagContext, `"current", "other"`},
		},
		{
			name:      "missing explicit kubeconfig",
			options:   Options{Kubeconfig: absent},
			wantParts: []string{fmt.Sprintf("bootstrap kubeconfig %q not found", absent), flagKubeconfig},
		},
		{
			name:      "no kubeconfig in the list",
			options:   Options{Getenv: envMap(map[string]string{"KUBECONFIG": absent})},
			wantParts: []string{"no bootstrap kubeconfig found", absent, flagServer, flagInCluster},
		},
		{
			name:      "no current context",
			options:   Options{Kubeconfig: noCurrent},
			wantParts: []string{"sets no current-context", flagContext, `"other"`},
		},
		{
			name:      "context without cluster",
			options:   Options{Kubeconfig: orphan},
			wantParts: []string{`invalid bootstrap context "orphan"`, orphan, flagContext},
		},
		{
			name:      "user without credentials",
			options:   Options{Kubeconfig: emptyUser},
			wantParts: []string{`user "empty"`, "has no credentials", "anonymous", flagContext},
		},
		{
			name:      "plain HTTP server",
			options:   Options{Kubeconfig: plainHTTP},
			wantParts: []string{"http://127.0.0.1:1", "clear text", "https://"},
		},
		{
			name:      "kubeconfig without contexts",
			options:   Options{Kubeconfig: writeFile(t, "no-contexts", "apiVersion: v1\nkind: Config\nclusters: []\n")},
			wantParts: []string{"defines no contexts", flagKubeconfig},
		},
		{
			name:      "context names an undefined user",
			options:   Options{Kubeconfig: missingUser},
			wantParts: []string{`bootstrap context "ghost"`, `user "ghost"`, "does not define", "anonymous", flagContext},
		},
		{
			name:      "malformed kubeconfig",
			options:   Options{Kubeconfig: malformed},
			wantParts: []string{"cannot load bootstrap kubeconfig", malformed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.options.Getenv == nil {
				tt.options.Getenv = envMap(nil)
			}

			_, err := tt.options.NewClient()

			if got := exitCodeOf(err); got != ExitUsage {
				t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitUsage, err)
			}
			for _, part := range tt.wantParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error does not contain %q:\n%s", part, err)
				}
			}
			if strings.Contains(err.Error(), bootstrapToken) {
				t.Errorf("error contains the bootstrap token:\n%s", err)
			}
		})
	}
}

func TestKubeconfigRecursionGuard(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("os.Executable: %v", err)
	}
	tests := []struct {
		name    string
		command string
	}{
		{"bare name", "kube-sa-token"},
		{"absolute path", "/usr/local/bin/kube-sa-token"},
		{"windows executable", `C:\tools\kube-sa-token.exe`},
		{"same file under another name", self},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(RecursionEnv, "")
			server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
			config := kubeconfigFor(server, "loop", nil)
			config.AuthInfos["sa-user"] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{APIVersion: "client.authentication.k8s.io/v1", Command: tt.command}}
			loop := clientcmdapi.NewContext()
			loop.Cluster, loop.AuthInfo = "test", "sa-user"
			config.Contexts["loop"] = loop
			kubeconfig := writeKubeconfig(t, config)

			_, err := Options{Kubeconfig: kubeconfig, Getenv: envMap(nil)}.NewClient()

			if got := exitCodeOf(err); got != ExitUsage {
				t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitUsage, err)
			}
			for _, part := range []string{`context "loop"`, `user "sa-user"`, "its own credentials", flagContext} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error does not contain %q:\n%s", part, err)
				}
			}
			if got := len(server.Requests()); got != 0 {
				t.Errorf("server received %d requests, want 0", got)
			}
		})
	}
}

func TestCheckRecursion(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr bool
	}{
		{"unset", nil, false},
		{"empty", map[string]string{RecursionEnv: ""}, false},
		{"set", map[string]string{RecursionEnv: "1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRecursion(envMap(tt.env))

			if !tt.wantErr {
				if err != nil {
					t.Fatalf("CheckRecursion = %v, want nil", err)
				}
				return
			}
			if got := exitCodeOf(err); got != ExitUsage {
				t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitUsage, err)
			}
			if !strings.Contains(err.Error(), RecursionEnv) {
				t.Errorf("error does not name %s:\n%s", RecursionEnv, err)
			}
		})
	}
}

func TestInClusterClient(t *testing.T) {
	server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
	serverURL, err := url.Parse(server.URL)
	if err != nil {
		t.Fatalf("parse server URL: %v", err)
	}
	host, port, err := net.SplitHostPort(serverURL.Host)
	if err != nil {
		t.Fatalf("split server address: %v", err)
	}
	options := Options{
		InCluster:          true,
		Getenv:             envMap(map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}),
		InClusterTokenFile: writeFile(t, "token", bootstrapToken),
		InClusterCAFile:    server.CAFile,
	}

	client, token := requestThrough(t, options)

	if token.Value != mintedToken {
		t.Errorf("token = %q, want the minted token", token.Value)
	}
	if got := server.onlyRequest(t).Authorization; got != "Bearer "+bootstrapToken {
		t.Errorf("Authorization header does not carry the mounted token")
	}
	if want := "in-cluster config (server " + server.URL + ")"; client.Describe() != want {
		t.Errorf("Describe() = %s, want %s", client.Describe(), want)
	}
}

func TestInClusterClientOutsidePod(t *testing.T) {
	options := Options{
		InCluster:          true,
		Getenv:             envMap(nil),
		InClusterTokenFile: writeFile(t, "token", bootstrapToken),
		InClusterCAFile:    writeFile(t, "ca.crt", string(newTestCA(t).certPEM)),
	}

	_, err := options.NewClient()

	if got := exitCodeOf(err); got != ExitUsage {
		t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitUsage, err)
	}
	for _, part := range []string{"KUBERNETES_SERVICE_HOST", flagInCluster, "does not run in a pod"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error does not contain %q:\n%s", part, err)
		}
	}
}

func TestServerClientInsecureWarns(t *testing.T) {
	server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
	sink := &outputSink{}
	options := serverOptions(t, server, sink)
	options.CAFile = ""
	options.InsecureSkipTLSVerify = true

	_, token := requestThrough(t, options)

	if token.Value != mintedToken {
		t.Errorf("token = %q, want the minted token", token.Value)
	}
	if len(sink.warnings) != 1 {
		t.Fatalf("warnings = %q, want exactly one", sink.warnings)
	}
	for _, part := range []string{"TLS verification of the bootstrap server " + server.URL + " is off", flagInsecure, flagCAFile} {
		if !strings.Contains(sink.warnings[0], part) {
			t.Errorf("warning does not contain %q:\n%s", part, sink.warnings[0])
		}
	}
}

func TestServerClientTokenFromEnvironment(t *testing.T) {
	server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
	tests := []struct {
		name    string
		options Options
	}{
		{"Token field", Options{Server: server.URL, CAFile: server.CAFile, Token: bootstrapToken, Getenv: envMap(nil)}},
		{"Getenv fallback", Options{Server: server.URL, CAFile: server.CAFile, Getenv: envMap(map[string]string{TokenEnv: bootstrapToken + "\n"})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(server.Requests())

			requestThrough(t, tt.options)

			requests := server.Requests()
			if len(requests) != before+1 {
				t.Fatalf("server received %d new requests, want 1", len(requests)-before)
			}
			if got := requests[len(requests)-1].Authorization; got != "Bearer "+bootstrapToken {
				t.Errorf("Authorization header does not carry the token from %s", TokenEnv)
			}
		})
	}
}

func TestServerClientRejectsDamagedCA(t *testing.T) {
	// A CERTIFICATE block passes the cheap check of Validate and Identity;
	// its content is parsed only when the client is built.
	damaged := writeFile(t, "damaged.crt", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
	options := Options{Server: "https://127.0.0.1:6443", CAFile: damaged, Token: bootstrapToken, Getenv: envMap(nil)}
	if err := options.Validate(); err != nil {
		t.Fatalf("Validate() = %v, want nil for a file with a CERTIFICATE block", err)
	}

	_, err := options.NewClient()
	var bootstrapErr *Error
	if !errors.As(err, &bootstrapErr) || bootstrapErr.ExitCode() != ExitUsage {
		t.Fatalf("NewClient() error = %v, want exit code %d", err, ExitUsage)
	}
	for _, part := range []string{flagCAFile, damaged, "contains no valid PEM certificate"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error does not contain %q:\n%v", part, err)
		}
	}
}

func TestServerRedirectNotFollowed(t *testing.T) {
	target := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
	redirecting := newAPIServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}, nil)
	client := newServerClient(t, redirecting, &outputSink{})

	_, err := client.RequestToken(context.Background(), TokenRequest{Namespace: "team-a", ServiceAccount: "deployer", ExpirationSeconds: 3600})

	if got := exitCodeOf(err); got != ExitFailure {
		t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitFailure, err)
	}
	for _, part := range []string{"redirected the TokenRequest to " + target.URL, "does not follow redirects"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error does not contain %q:\n%s", part, err)
		}
	}
	if n := len(target.Requests()); n != 0 {
		t.Errorf("the redirect target received %d requests, want 0", n)
	}
}
