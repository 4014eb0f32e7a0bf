package e2e

import (
	"os"
	"path/filepath"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// TestCIBootstrapFromServiceAccountToken covers a CI runner that holds only a
// ServiceAccount token, the API server URL and its CA: it bootstraps with those, the token
// either in a file or in KUBE_SA_TOKEN_BOOTSTRAP_TOKEN, and kubectl acts as another
// ServiceAccount.
func TestCIBootstrapFromServiceAccountToken(t *testing.T) {
	tn := newTenant(t, podReader)
	tn.createServiceAccount(t, "ci-runner", []rbacv1.PolicyRule{ruleCreateToken(tn.serviceAccount)})
	runnerToken := tn.mintToken(t, "ci-runner")
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(runnerToken), 0o600); err != nil {
		t.Fatal(err)
	}

	serverArgs := []string{"--bootstrap-server", env.cluster.ServerURL}
	if env.cluster.CAFile != "" {
		serverArgs = append(serverArgs, "--bootstrap-certificate-authority", env.cluster.CAFile)
	} else {
		serverArgs = append(serverArgs, "--bootstrap-insecure-skip-tls-verify")
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{name: "token file", args: append([]string{"--bootstrap-token-file", tokenFile}, serverArgs...)},
		{
			name: "token in environment",
			args: serverArgs,
			env:  map[string]string{"KUBE_SA_TOKEN_BOOTSTRAP_TOKEN": runnerToken},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{
				"token", "-n", tn.namespace, "--service-account", tn.serviceAccount,
				"--cache-dir", t.TempDir(),
			}
			kubeconfig := writeKubeconfig(t, execStanza{
				apiVersion:         execV1,
				args:               append(args, tt.args...),
				env:                tt.env,
				provideClusterInfo: true,
			})

			for _, kubectl := range env.kubectls {
				if got := whoAmI(t, kubectl, kubeconfig); got != tn.username() {
					t.Errorf("%s kubectl auth whoami = %q, want %q", kubectl.name, got, tn.username())
				}
			}
			list := runKubectl(t, pinnedKubectl(), kubeconfig, "get", "pods", "-n", tn.namespace)
			if list.exitCode != exitOK {
				t.Errorf("get pods failed: %s", list)
			}
		})
	}
}
