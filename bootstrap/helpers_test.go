package bootstrap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Placeholders shared by the tests.
const (
	testNamespace      = "team-a"
	testServiceAccount = "deployer"
	testBootstrapUser  = "system:serviceaccount:ops:minter"
	bootstrapToken     = "FAKEBOOT.abcdef0123456789"
	mintedToken        = "FAKE.JWT.SECRET"
	tokenRequestPath   = "/api/v1/namespaces/team-a/serviceaccounts/deployer/token"
)

// recordedRequest is what the fake API server saw of one request.
type recordedRequest struct {
	Method        string
	Path          string
	Authorization string
	ContentType   string
	UserAgent     string
	Body          []byte
	ClientCN      string // common name of the TLS client certificate, if any
}

// apiServer is an httptest TLS server on loopback that records requests and
// whose CA certificate is written to CAFile.
type apiServer struct {
	*httptest.Server
	CAFile string

	mu       sync.Mutex
	requests []recordedRequest
}

// newAPIServer starts a TLS server that records each request and then calls
// handler. configure, when not nil, may set TLS options before the start.
func newAPIServer(t *testing.T, handler http.HandlerFunc, configure func(*httptest.Server)) *apiServer {
	t.Helper()
	server := &apiServer{}
	server.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server.record(r)
		handler(w, r)
	}))
	if configure != nil {
		configure(server.Server)
	}
	server.StartTLS()
	t.Cleanup(server.Close)

	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})
	server.CAFile = writeFile(t, "server-ca.crt", string(certPEM))
	return server
}

func (s *apiServer) record(r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	request := recordedRequest{
		Method:        r.Method,
		Path:          r.URL.Path,
		Authorization: r.Header.Get("Authorization"),
		ContentType:   r.Header.Get("Content-Type"),
		UserAgent:     r.Header.Get("User-Agent"),
		Body:          body,
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		request.ClientCN = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, request)
}

func (s *apiServer) Requests() []recordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recordedRequest(nil), s.requests...)
}

// onlyRequest returns the single recorded request and fails the test when the
// server saw a different number.
func (s *apiServer) onlyRequest(t *testing.T) recordedRequest {
	t.Helper()
	requests := s.Requests()
	if len(requests) != 1 {
		t.Fatalf("server received %d requests, want exactly 1", len(requests))
	}
	return requests[0]
}

// respond returns a handler that responds with status, body and headers.
func respond(status int, body string, headers map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for name, value := range headers {
			w.Header().Set(name, value)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// mintedResponse is a valid TokenRequest response carrying mintedToken.
const mintedResponse = `{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1",` +
	`"metadata":{"name":"deployer","namespace":"team-a","creationTimestamp":"2030-03-01T10:00:00Z"},` +
	`"spec":{"audiences":["https://kubernetes.default.svc"],"expirationSeconds":3600,"boundObjectRef":null},` +
	`"status":{"token":"FAKE.JWT.SECRET","expirationTimestamp":"2030-03-01T11:00:00Z"}}`

// readTestdata returns a file from testdata/bootstrap.
func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "bootstrap", name))
	if err != nil {
		t.Fatalf("read testdata: %v", err)
	}
	return string(data)
}

// writeFile writes content to a new file in a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	return path
}

// envMap returns a Getenv function over a fixed environment.
func envMap(env map[string]string) func(string) string {
	return func(key string) string { return env[key] }
}

// outputSink collects what the package passes to Options.Warn and Options.Logf.
type outputSink struct {
	mu       sync.Mutex
	warnings []string
	logs     []string
}

func (s *outputSink) warn(message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.warnings = append(s.warnings, message)
}

func (s *outputSink) logf(level int, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs = append(s.logs, fmt.Sprintf("V(%d) ", level)+fmt.Sprintf(format, args...))
}

func (s *outputSink) all() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.warnings, "\n") + "\n" + strings.Join(s.logs, "\n")
}

// serverOptions returns server-mode options for server with bootstrapToken in
// a token file, wired to sink.
func serverOptions(t *testing.T, server *apiServer, sink *outputSink) Options {
	t.Helper()
	return Options{
		Server:    server.URL,
		TokenFile: writeFile(t, "token", bootstrapToken+"\n"),
		CAFile:    server.CAFile,
		UserAgent: "kube-sa-token/test",
		Getenv:    envMap(nil),
		Warn:      sink.warn,
		Logf:      sink.logf,
	}
}

// newServerClient builds a server-mode client for server.
func newServerClient(t *testing.T, server *apiServer, sink *outputSink) *Client {
	t.Helper()
	client, err := serverOptions(t, server, sink).NewClient()
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return client
}

// writeKubeconfig writes config to a new file and returns its path.
func writeKubeconfig(t *testing.T, config *clientcmdapi.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*config, path); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	return path
}

// kubeconfigFor returns a kubeconfig with one cluster for server and one
// context per user, named after the user. currentContext may be "".
func kubeconfigFor(server *apiServer, currentContext string, users map[string]*clientcmdapi.AuthInfo) *clientcmdapi.Config {
	config := clientcmdapi.NewConfig()
	cluster := clientcmdapi.NewCluster()
	cluster.Server = server.URL
	cluster.CertificateAuthority = server.CAFile
	config.Clusters["test"] = cluster
	for name, user := range users {
		config.AuthInfos[name] = user
		context := clientcmdapi.NewContext()
		context.Cluster = "test"
		context.AuthInfo = name
		config.Contexts[name] = context
	}
	config.CurrentContext = currentContext
	return config
}

// testCA is a certificate authority generated for one test.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate CA key: %v", err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse CA certificate: %v", err)
	}
	return &testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issueClientCert returns PEM certificate and key for a TLS client named commonName.
func (ca *testCA) issueClientCert(t *testing.T, commonName string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate client key: %v", err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"ops"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("create client certificate: %v", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("marshal client key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// exitCodeOf returns the exit code of a *Error, or -1 for any other error.
func exitCodeOf(err error) int {
	var bootstrapErr *Error
	if !errors.As(err, &bootstrapErr) {
		return -1
	}
	return bootstrapErr.ExitCode()
}
