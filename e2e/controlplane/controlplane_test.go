package controlplane

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// binDirEnv overrides where the tests look for etcd, kube-apiserver and kubectl.
const binDirEnv = "KUBE_SA_TOKEN_E2E_BIN_DIR"

// signalHelperEnv makes the test binary start a control plane and wait for a signal
// instead of running tests.
const signalHelperEnv = "KUBE_SA_TOKEN_E2E_SIGNAL_HELPER_DIR"

func binDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(binDirEnv)
	if dir == "" {
		dir = filepath.Join("..", "bin")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("resolve %s: %v", binDirEnv, err)
	}
	for _, name := range []string{EtcdBinary, KubeAPIServerBinary, KubectlBinary} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("%s missing: %v; build it with `make e2e-tools` from the repository root "+
				"or set %s", name, err, binDirEnv)
		}
	}
	return dir
}

func startForTest(t *testing.T) *ControlPlane {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	cp, err := Start(ctx, Options{BinDir: binDir(t), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(cp.LogTails(40))
		}
		if err := cp.Stop(); err != nil {
			t.Errorf("stop control plane: %v", err)
		}
	})
	return cp
}

func TestStartAndStop(t *testing.T) {
	cp := startForTest(t)
	ctx := context.Background()
	clientset, err := cp.Clientset()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("admin is system:masters", func(t *testing.T) {
		review, err := clientset.AuthenticationV1().SelfSubjectReviews().Create(ctx,
			&authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create SelfSubjectReview: %v", err)
		}
		if got := review.Status.UserInfo.Username; got != AdminUser {
			t.Errorf("user name = %q, want %q", got, AdminUser)
		}
		if groups := review.Status.UserInfo.Groups; !slices.Contains(groups, "system:masters") {
			t.Errorf("groups = %v, want system:masters among them", groups)
		}
	})

	t.Run("listens on loopback only", func(t *testing.T) {
		apiserverURL, err := url.Parse(cp.ServerURL)
		if err != nil {
			t.Fatal(err)
		}
		for name, pid := range cp.PIDs() {
			addresses, err := ListeningAddresses(pid)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(addresses) == 0 {
				t.Errorf("%s (pid %d) listens on nothing; the /proc scan is broken", name, pid)
			}
			for _, address := range addresses {
				if address.Addr().String() != loopback {
					t.Errorf("%s listens on %s, want %s only", name, address, loopback)
				}
			}
			if name == KubeAPIServerBinary && len(addresses) != 1 {
				t.Errorf("kube-apiserver listens on %v, want the secure port %s only",
					addresses, apiserverURL.Port())
			}
		}
	})

	t.Run("serves metrics to admin", func(t *testing.T) {
		families, err := cp.Metrics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		requests, ok := families["apiserver_request_total"]
		if !ok {
			t.Fatalf("apiserver_request_total missing from /metrics (%d families)", len(families))
		}
		if len(requests.GetMetric()) == 0 {
			t.Errorf("apiserver_request_total has no samples")
		}
	})

	t.Run("kubectl reaches it as admin", func(t *testing.T) {
		kubectl := filepath.Join(binDir(t), KubectlBinary)
		output, err := exec.Command(kubectl, "--kubeconfig", cp.KubeconfigPath,
			"get", "namespaces", "-o", "name").CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl get namespaces: %v\n%s", err, output)
		}
		if !strings.Contains(string(output), "namespace/kube-system") {
			t.Errorf("kubectl get namespaces printed %q, want namespace/kube-system", output)
		}
	})

	t.Run("issues ServiceAccount tokens it accepts", func(t *testing.T) {
		assertServiceAccountTokenWorks(t, cp, clientset)
	})

	pids := cp.PIDs()
	if err := cp.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for name, pid := range pids {
		if processAlive(pid) {
			t.Errorf("%s (pid %d) still running after Stop", name, pid)
		}
	}
	assertPortClosed(t, cp.ServerURL)
}

// assertServiceAccountTokenWorks mints a token with TokenRequest and authenticates with it,
// which checks the issuer, signing key and audience flags together.
func assertServiceAccountTokenWorks(t *testing.T, cp *ControlPlane, clientset *kubernetes.Clientset) {
	t.Helper()
	ctx := context.Background()
	serviceAccounts := clientset.CoreV1().ServiceAccounts("default")
	_, err := serviceAccounts.Create(ctx,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create ServiceAccount: %v", err)
	}
	expirationSeconds := int64(600)
	request, err := serviceAccounts.CreateToken(ctx, "probe", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expirationSeconds},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest: %v", err)
	}
	if got := request.Status.Token; got == "" {
		t.Fatalf("TokenRequest returned an empty token")
	}
	if got, want := request.Spec.Audiences, []string{cp.Issuer}; !slices.Equal(got, want) {
		t.Errorf("token audiences = %v, want %v (the API server's default)", got, want)
	}

	tokenConfig := rest.AnonymousClientConfig(cp.Config)
	tokenConfig.BearerToken = request.Status.Token
	tokenClient, err := kubernetes.NewForConfig(tokenConfig)
	if err != nil {
		t.Fatal(err)
	}
	review, err := tokenClient.AuthenticationV1().SelfSubjectReviews().Create(ctx,
		&authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create SelfSubjectReview with the ServiceAccount token: %v", err)
	}
	if got, want := review.Status.UserInfo.Username, "system:serviceaccount:default:probe"; got != want {
		t.Errorf("user name = %q, want %q", got, want)
	}
}

// processAlive reports whether pid names a process that has not exited. A zombie counts as
// exited: it runs nothing and holds no sockets, and reaping it is its new parent's job.
func processAlive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may contain spaces.
	afterName := stat[strings.LastIndexByte(string(stat), ')')+1:]
	fields := strings.Fields(string(afterName))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

func assertPortClosed(t *testing.T, serverURL string) {
	t.Helper()
	parsed, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	// A killed process's sockets close when its last thread exits, which can be a moment
	// after its main thread shows as a zombie.
	closed := eventually(5*time.Second, func() bool {
		conn, err := net.DialTimeout("tcp", parsed.Host, time.Second)
		if err != nil {
			return true
		}
		conn.Close()
		return false
	})
	if !closed {
		t.Errorf("%s still accepts connections after the control plane stopped", parsed.Host)
	}
}

// helperReport is what runSignalHelper prints on one line once its control plane is ready.
type helperReport struct {
	PIDs      map[string]int
	ServerURL string
}

func TestSignalStopsComponents(t *testing.T) {
	binaries := binDir(t)
	tests := []struct {
		name   string
		signal syscall.Signal
		// wantExitCode is the helper's exit status, or -1 when a signal ended it.
		wantExitCode int
	}{
		{name: "SIGINT stops gracefully", signal: syscall.SIGINT, wantExitCode: 130},
		{name: "SIGTERM stops gracefully", signal: syscall.SIGTERM, wantExitCode: 143},
		{name: "SIGKILL of owner kills components", signal: syscall.SIGKILL, wantExitCode: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			helper := exec.Command(os.Args[0])
			helper.Env = append(os.Environ(), signalHelperEnv+"="+t.TempDir(), binDirEnv+"="+binaries)
			stdout, err := helper.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			helper.Stderr = &stderr
			if err := helper.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = helper.Process.Kill(); _ = helper.Wait() })

			report, err := readHelperReport(stdout)
			if err != nil {
				t.Fatalf("helper did not report a ready control plane: %v\nstderr:\n%s", err, stderr.String())
			}
			if err := helper.Process.Signal(tt.signal); err != nil {
				t.Fatal(err)
			}
			waitErr := helper.Wait()

			var exitErr *exec.ExitError
			if !errors.As(waitErr, &exitErr) {
				t.Fatalf("helper wait: %v, want a non-zero exit", waitErr)
			}
			if got := exitErr.ExitCode(); got != tt.wantExitCode {
				t.Errorf("helper exit code = %d, want %d\nstderr:\n%s", got, tt.wantExitCode, stderr.String())
			}
			for name, pid := range report.PIDs {
				if !eventually(5*time.Second, func() bool { return !processAlive(pid) }) {
					t.Errorf("%s (pid %d) still running after its owner got %s", name, pid, tt.signal)
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			assertPortClosed(t, report.ServerURL)
		})
	}
}

func readHelperReport(stdout interface{ Read([]byte) (int, error) }) (helperReport, error) {
	var report helperReport
	scanner := bufio.NewScanner(stdout)
	for scanner.Scan() {
		if line, ok := strings.CutPrefix(scanner.Text(), "READY "); ok {
			err := json.Unmarshal([]byte(line), &report)
			return report, err
		}
	}
	return report, fmt.Errorf("helper output ended without a READY line: %v", scanner.Err())
}

func eventually(timeout time.Duration, condition func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if condition() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return condition()
}

// TestMain runs the signal helper instead of the tests when TestSignalStopsComponents
// starts this test binary with signalHelperEnv set.
func TestMain(m *testing.M) {
	if dir := os.Getenv(signalHelperEnv); dir != "" {
		runSignalHelper(dir)
		return
	}
	os.Exit(m.Run())
}

// runSignalHelper starts a control plane in dir, prints a READY line and waits for the
// signal that TestSignalStopsComponents sends. It exits 1 if none arrives in 2 minutes.
func runSignalHelper(dir string) {
	cp, err := Start(context.Background(), Options{BinDir: os.Getenv(binDirEnv), Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cp.StopOnSignal()

	report, _ := json.Marshal(helperReport{PIDs: cp.PIDs(), ServerURL: cp.ServerURL})
	fmt.Printf("READY %s\n", report)
	time.Sleep(2 * time.Minute)
	fmt.Fprintln(os.Stderr, "no signal arrived within 2 minutes")
	_ = cp.Stop()
	os.Exit(1)
}
