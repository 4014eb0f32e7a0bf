// Package controlplane runs a throwaway Kubernetes control plane (etcd and kube-apiserver,
// no controllers, no kubelet) on 127.0.0.1 for end-to-end tests and the demo, or connects
// to an existing cluster through an admin kubeconfig.
//
// It owns the generated PKI, the component processes and their logs. It never creates
// Kubernetes objects beyond what kube-apiserver bootstraps itself, and it never listens on,
// or sends to, any address other than 127.0.0.1.
//
// The process handling is Linux-only (process groups, parent-death signal, /proc).
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Binary names expected in Options.BinDir, as the Makefile builds them.
const (
	EtcdBinary          = "etcd"
	KubeAPIServerBinary = "kube-apiserver"
	KubectlBinary       = "kubectl"
)

// AdminUser is the user name in the admin client certificate. Its group system:masters
// passes every authorization check, including reading /metrics.
const AdminUser = "kube-sa-token-e2e-admin"

// loopback is the only address any component listens on or advertises.
const loopback = "127.0.0.1"

// DefaultReadyTimeout bounds how long Start waits for etcd and for kube-apiserver. It is a
// margin, not a measurement: both were ready within about 3 s on an idle 2-core machine.
const DefaultReadyTimeout = 2 * time.Minute

// Options configures Start.
type Options struct {
	// BinDir is the directory containing the etcd and kube-apiserver binaries.
	BinDir string
	// Dir is an existing, empty directory for the PKI, etcd data, logs and admin kubeconfig.
	// The caller removes it after Stop.
	Dir string
	// ReadyTimeout replaces DefaultReadyTimeout when positive.
	ReadyTimeout time.Duration
}

// Cluster is what a test needs to reach an API server as an administrator.
type Cluster struct {
	// KubeconfigPath is an admin kubeconfig whose current context reaches the API server.
	KubeconfigPath string
	// Config is the admin client configuration loaded from KubeconfigPath.
	Config *rest.Config
	// ServerURL is the API server URL, as a plugin's --bootstrap-server takes it.
	ServerURL string
	// CAFile is a PEM file with the CA that signed the API server's serving certificate. It
	// is empty when the kubeconfig neither names nor embeds one.
	CAFile string
}

// ControlPlane is a running etcd and kube-apiserver started by Start.
type ControlPlane struct {
	Cluster

	// Issuer is the ServiceAccount token issuer, which is also the only API audience.
	Issuer string

	etcd      *process
	apiserver *process
	stopOnce  sync.Once
	stopErr   error
}

// Start generates a PKI in opts.Dir, starts etcd and kube-apiserver on free 127.0.0.1
// ports, and waits until both report ready. On error it stops whatever it started and the
// error includes the tail of the failing component's log.
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	ports, err := freeLoopbackPorts(3)
	if err != nil {
		return nil, err
	}
	etcdClientPort, etcdPeerPort, apiserverPort := ports[0], ports[1], ports[2]

	files, err := writePKI(opts.Dir)
	if err != nil {
		return nil, err
	}

	cp := &ControlPlane{}
	cp.ServerURL = "https://" + net.JoinHostPort(loopback, strconv.Itoa(apiserverPort))
	cp.Issuer = cp.ServerURL
	cp.CAFile = files.caCert
	cp.KubeconfigPath = filepath.Join(opts.Dir, "admin.kubeconfig")

	etcdURL := "http://" + net.JoinHostPort(loopback, strconv.Itoa(etcdClientPort))
	cp.etcd, err = startProcess(EtcdBinary, filepath.Join(opts.BinDir, EtcdBinary),
		etcdArgs(opts.Dir, etcdClientPort, etcdPeerPort), filepath.Join(opts.Dir, "etcd.log"))
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, cp.etcd, opts.ReadyTimeout, etcdHealthy(etcdURL)); err != nil {
		return nil, cp.failStart(err)
	}

	args := apiserverArgs(opts.Dir, files, etcdURL, apiserverPort, cp.Issuer)
	cp.apiserver, err = startProcess(KubeAPIServerBinary,
		filepath.Join(opts.BinDir, KubeAPIServerBinary), args,
		filepath.Join(opts.Dir, "kube-apiserver.log"))
	if err != nil {
		return nil, cp.failStart(err)
	}

	if err := writeAdminKubeconfig(cp.KubeconfigPath, cp.ServerURL, files); err != nil {
		return nil, cp.failStart(err)
	}
	cp.Config, err = clientcmd.BuildConfigFromFlags("", cp.KubeconfigPath)
	if err != nil {
		return nil, cp.failStart(fmt.Errorf("load admin kubeconfig: %s: %w", cp.KubeconfigPath, err))
	}
	if err := waitReady(ctx, cp.apiserver, opts.ReadyTimeout, apiserverReady(cp.Config)); err != nil {
		return nil, cp.failStart(err)
	}
	return cp, nil
}

func etcdArgs(dir string, clientPort, peerPort int) []string {
	clientURL := "http://" + net.JoinHostPort(loopback, strconv.Itoa(clientPort))
	peerURL := "http://" + net.JoinHostPort(loopback, strconv.Itoa(peerPort))
	return []string{
		"--name=e2e",
		"--data-dir=" + filepath.Join(dir, "etcd-data"),
		"--listen-client-urls=" + clientURL,
		"--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=e2e=" + peerURL,
		"--log-level=warn",
		// The data is thrown away after the run, so durability buys nothing.
		"--unsafe-no-fsync=true",
	}
}

func apiserverArgs(dir string, files pkiFiles, etcdURL string, port int, issuer string) []string {
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=" + loopback,
		"--advertise-address=" + loopback,
		"--secure-port=" + strconv.Itoa(port),
		// kube-apiserver writes self-signed certificates here only when the TLS files are
		// missing. The default directory is /var/run/kubernetes.
		"--cert-dir=" + filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file=" + files.servingCert,
		"--tls-private-key-file=" + files.servingKey,
		"--client-ca-file=" + files.caCert,
		"--service-account-issuer=" + issuer,
		"--service-account-key-file=" + files.serviceAccountKey,
		"--service-account-signing-key-file=" + files.serviceAccountKey,
		"--api-audiences=" + issuer,
		"--authorization-mode=RBAC",
		// The default reconciler writes 127.0.0.1 into the kubernetes Endpoints object, which
		// validation rejects for a loopback address, and then logs the failure forever.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}
}

// pkiFiles are the files that writePKI wrote and the PEM data that the admin kubeconfig
// embeds.
type pkiFiles struct {
	caCert, servingCert, servingKey string
	adminCert, adminKey             []byte
	caPEM                           []byte
	serviceAccountKey               string
}

// writePKI creates one CA that signs both the serving certificate and the admin client
// certificate, and a separate ServiceAccount signing key.
func writePKI(dir string) (pkiFiles, error) {
	var files pkiFiles
	ca, err := newAuthority("kube-sa-token-e2e-ca")
	if err != nil {
		return files, err
	}
	serving, err := ca.issueServing()
	if err != nil {
		return files, err
	}
	admin, err := ca.issueClient(AdminUser, []string{"system:masters"})
	if err != nil {
		return files, err
	}
	serviceAccountKey, err := newServiceAccountSigningKey()
	if err != nil {
		return files, err
	}

	files.caPEM = ca.certPEM()
	files.adminCert, files.adminKey = admin.certPEM, admin.keyPEM
	writes := []struct {
		path *string
		name string
		data []byte
	}{
		{&files.caCert, "ca.crt", files.caPEM},
		{&files.servingCert, "serving.crt", serving.certPEM},
		{&files.servingKey, "serving.key", serving.keyPEM},
		{&files.serviceAccountKey, "service-account.key", serviceAccountKey},
	}
	for _, w := range writes {
		if *w.path, err = writePrivateFile(dir, w.name, w.data); err != nil {
			return files, err
		}
	}
	return files, nil
}

func writeAdminKubeconfig(path, serverURL string, files pkiFiles) error {
	config := clientcmdapi.NewConfig()
	config.Clusters["e2e"] = &clientcmdapi.Cluster{
		Server:                   serverURL,
		CertificateAuthorityData: files.caPEM,
	}
	config.AuthInfos["admin"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: files.adminCert,
		ClientKeyData:         files.adminKey,
	}
	config.Contexts["admin"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "admin"}
	config.CurrentContext = "admin"
	if err := clientcmd.WriteToFile(*config, path); err != nil {
		return fmt.Errorf("write admin kubeconfig: %s: %w", path, err)
	}
	return nil
}

// freeLoopbackPorts returns n distinct TCP ports that were free on 127.0.0.1 a moment ago.
// NOTE: another process can take a port between this check and the component binding it.
// Start then fails, and the component's log tail in the error says "address already in use".
func freeLoopbackPorts(n int) ([]int, error) {
	var ports []int
	for range n {
		listener, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
		if err != nil {
			return nil, fmt.Errorf("find a free port on %s: %w", loopback, err)
		}
		defer listener.Close()
		ports = append(ports, listener.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// readinessCheck returns nil once a component serves requests.
type readinessCheck func(ctx context.Context) error

// waitReady polls check every 250 ms until it passes, the process exits, ctx ends or timeout
// passes.
func waitReady(ctx context.Context, p *process, timeout time.Duration, check readinessCheck) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	ticker := time.NewTicker(250 * time.Millisecond)
	defer ticker.Stop()
	var lastErr error
	for {
		attemptCtx, cancelAttempt := context.WithTimeout(ctx, 5*time.Second)
		lastErr = check(attemptCtx)
		cancelAttempt()
		if lastErr == nil {
			return nil
		}

		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before it was ready: %v", p.name, p.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: last check: %w", p.name, timeout, lastErr)
		case <-ticker.C:
		}
	}
}

func etcdHealthy(clientURL string) readinessCheck {
	return func(ctx context.Context) error {
		request, err := http.NewRequestWithContext(ctx, http.MethodGet, clientURL+"/health", nil)
		if err != nil {
			return err
		}
		response, err := http.DefaultClient.Do(request)
		if err != nil {
			return err
		}
		defer response.Body.Close()
		if response.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s/health: status %d", clientURL, response.StatusCode)
		}
		return nil
	}
}

func apiserverReady(config *rest.Config) readinessCheck {
	return func(ctx context.Context) error {
		clientset, err := kubernetes.NewForConfig(config)
		if err != nil {
			return err
		}
		_, err = clientset.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	}
}

// failStart stops what Start started and adds the component logs to err.
func (cp *ControlPlane) failStart(err error) error {
	tails := cp.LogTails(40)
	if stopErr := cp.Stop(); stopErr != nil {
		err = errors.Join(err, stopErr)
	}
	return fmt.Errorf("start control plane: %w\n%s", err, tails)
}

// Stop stops kube-apiserver, then etcd, and waits until both have exited. It is safe to call
// more than once and from several goroutines.
func (cp *ControlPlane) Stop() error {
	cp.stopOnce.Do(func() {
		for _, p := range []*process{cp.apiserver, cp.etcd} {
			if p != nil {
				cp.stopErr = errors.Join(cp.stopErr, p.stop())
			}
		}
	})
	return cp.stopErr
}

// StopOnSignal stops the control plane and exits this process when it receives SIGINT or
// SIGTERM, with the shell's status for that signal (130 or 143). The returned function
// removes the handler.
func (cp *ControlPlane) StopOnSignal() (release func()) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case received := <-signals:
			fmt.Fprintf(os.Stderr, "received %s: stopping etcd and kube-apiserver\n", received)
			if err := cp.Stop(); err != nil {
				fmt.Fprintf(os.Stderr, "stop control plane: %v\n", err)
			}
			os.Exit(128 + int(received.(syscall.Signal)))
		case <-done:
		}
	}()
	return func() {
		signal.Stop(signals)
		close(done)
	}
}

// PIDs returns the process ID of each started component, keyed by binary name.
func (cp *ControlPlane) PIDs() map[string]int {
	pids := map[string]int{}
	for _, p := range []*process{cp.etcd, cp.apiserver} {
		if p != nil {
			pids[p.name] = p.pid()
		}
	}
	return pids
}

// LogTails returns the last lines of each component's log, one labelled section each.
func (cp *ControlPlane) LogTails(lines int) string {
	var out strings.Builder
	for _, p := range []*process{cp.etcd, cp.apiserver} {
		if p != nil {
			fmt.Fprintf(&out, "==> last %d lines of %s <==\n%s\n", lines, p.logPath, p.logTail(lines))
		}
	}
	return out.String()
}
