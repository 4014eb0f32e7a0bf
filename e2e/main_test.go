// Package e2e runs the kube-sa-token binary as kubectl and client-go run it: from the exec
// stanza of a kubeconfig, against a real kube-apiserver.
//
// TestMain starts one throwaway control plane (see package controlplane) for the whole run,
// or uses an existing cluster when KUBE_SA_TOKEN_E2E_KUBECONFIG is set. Each test creates
// its own namespace, ServiceAccount, Role and RoleBinding, and its own token cache
// directory. Tests run one at a time because several of them count TokenRequests through
// the API server's metrics, which any concurrent test would disturb.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kube-sa-token/kube-sa-token/e2e/controlplane"
)

// Environment variables that change what the tests run against.
const (
	// existingClusterEnv names an admin kubeconfig. When set, no control plane is started and
	// the tests create and delete their namespaces in that cluster instead.
	existingClusterEnv = "KUBE_SA_TOKEN_E2E_KUBECONFIG"
	// pluginBinaryEnv names a prebuilt kube-sa-token binary. Without it, TestMain builds one.
	pluginBinaryEnv = "KUBE_SA_TOKEN_BIN"
	// toolsDirEnv names the directory with etcd, kube-apiserver and kubectl. The default is
	// e2e/bin, where `make e2e-tools` puts them.
	toolsDirEnv = "KUBE_SA_TOKEN_E2E_BIN_DIR"
)

// harness is what every test shares. TestMain fills it before any test runs.
type harness struct {
	cluster *controlplane.Cluster
	admin   *kubernetes.Clientset
	// plugin is the absolute path of the kube-sa-token binary under test.
	plugin string
	// kubectls are the kubectl binaries to run: the pinned one first, then the one on
	// PATH if there is a different one.
	kubectls []kubectlBinary
	// workDir is a temporary directory for files shared by all tests, such as built helpers.
	workDir string
}

var env harness

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	workDir, err := os.MkdirTemp("", "kube-sa-token-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)
	env.workDir = workDir

	controlPlane, err := setUp(workDir)
	if controlPlane != nil {
		release := controlPlane.StopOnSignal()
		defer release()
		defer stopControlPlane(controlPlane)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e setup failed: %v\n", err)
		return 1
	}

	code := m.Run()
	if code != 0 && controlPlane != nil {
		fmt.Fprintf(os.Stderr, "Some tests failed; the control plane logs end with:\n%s",
			controlPlane.LogTails(60))
	}
	return code
}

// setUp finds or builds the binaries and starts or connects to the cluster. It returns the
// control plane it started, if any, even with an error, so that the caller can stop it.
func setUp(workDir string) (*controlplane.ControlPlane, error) {
	toolsDir, err := toolsDirectory()
	if err != nil {
		return nil, err
	}
	env.kubectls = findKubectls(toolsDir)
	if env.plugin, err = pluginBinary(workDir); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var controlPlane *controlplane.ControlPlane
	if kubeconfig := os.Getenv(existingClusterEnv); kubeconfig != "" {
		fmt.Fprintf(os.Stderr, "e2e: using the existing cluster of %s=%s\n", existingClusterEnv, kubeconfig)
		env.cluster, err = controlplane.Connect(ctx, kubeconfig, workDir)
	} else {
		controlPlane, err = startControlPlane(ctx, toolsDir, workDir)
		if controlPlane != nil {
			env.cluster = &controlPlane.Cluster
		}
	}
	if err != nil {
		return controlPlane, err
	}

	env.admin, err = env.cluster.Clientset()
	return controlPlane, err
}

func startControlPlane(ctx context.Context, toolsDir, workDir string) (*controlplane.ControlPlane, error) {
	for _, name := range []string{controlplane.EtcdBinary, controlplane.KubeAPIServerBinary} {
		if _, err := os.Stat(filepath.Join(toolsDir, name)); err != nil {
			return nil, fmt.Errorf("%s missing: %w; build it with `make e2e-tools` from the "+
				"repository root, set %s to its directory, or set %s to test an existing cluster",
				name, err, toolsDirEnv, existingClusterEnv)
		}
	}
	dir := filepath.Join(workDir, "control-plane")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}

	started := time.Now()
	controlPlane, err := controlplane.Start(ctx, controlplane.Options{BinDir: toolsDir, Dir: dir})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "e2e: control plane at %s ready in %s\n",
		controlPlane.ServerURL, time.Since(started).Round(time.Millisecond))
	return controlPlane, nil
}

func stopControlPlane(controlPlane *controlplane.ControlPlane) {
	if err := controlPlane.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop control plane: %v\n", err)
	}
}

func toolsDirectory() (string, error) {
	dir := os.Getenv(toolsDirEnv)
	if dir == "" {
		dir = "bin"
	}
	return filepath.Abs(dir)
}

// pluginBinary returns $KUBE_SA_TOKEN_BIN, or builds the plugin from the repository root
// (the parent of this module) into dir.
func pluginBinary(dir string) (string, error) {
	if path := os.Getenv(pluginBinaryEnv); path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("%s=%s: %w", pluginBinaryEnv, path, err)
		}
		return filepath.Abs(path)
	}

	output := filepath.Join(dir, "kube-sa-token")
	build := exec.Command("go", "build", "-o", output, ".")
	build.Dir = ".."
	if combined, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build kube-sa-token from the repository root: %w\n%s", err, combined)
	}
	return output, nil
}
