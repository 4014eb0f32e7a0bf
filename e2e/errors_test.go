package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeTokenKubeconfig writes a bootstrap kubeconfig that authenticates with a bearer token.
func writeTokenKubeconfig(t *testing.T, token string) string {
	t.Helper()
	config := clientcmdapi.NewConfig()
	config.Clusters["e2e"] = &clientcmdapi.Cluster{
		Server:                   env.cluster.Config.Host,
		CertificateAuthorityData: env.cluster.Config.CAData,
		CertificateAuthority:     env.cluster.Config.CAFile,
		InsecureSkipTLSVerify:    env.cluster.Config.Insecure,
	}
	config.AuthInfos["bootstrap"] = &clientcmdapi.AuthInfo{Token: token}
	config.Contexts["bootstrap"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "bootstrap"}
	config.CurrentContext = "bootstrap"

	path := filepath.Join(t.TempDir(), "bootstrap.kubeconfig")
	if err := clientcmd.WriteToFile(*config, path); err != nil {
		t.Fatalf("write bootstrap kubeconfig: %v", err)
	}
	return path
}

// TestForbiddenBootstrapHintWorks bootstraps from a ServiceAccount that may not create
// tokens, then runs the kubectl commands from the plugin's RBAC hint as the administrator
// and expects the same plugin call to succeed.
func TestForbiddenBootstrapHintWorks(t *testing.T) {
	tn := newTenant(t, nil)
	tn.createServiceAccount(t, "minter", nil)
	bootstrap := writeTokenKubeconfig(t, tn.mintToken(t, "minter"))
	args := []string{
		"token", "-n", tn.namespace, "--service-account", tn.serviceAccount,
		"--bootstrap-kubeconfig", bootstrap, "--no-cache",
	}

	denied := runPlugin(t, nil, args...)
	if denied.exitCode != exitForbidden {
		t.Fatalf("exit code = %d, want %d (forbidden)\n%s", denied.exitCode, exitForbidden, denied)
	}
	if denied.stdout != "" {
		t.Errorf("stdout = %q, want nothing on failure", redactJWTs(denied.stdout))
	}
	for _, want := range []string{"serviceaccounts/token", "kubectl create role", "kubectl create rolebinding"} {
		if !strings.Contains(denied.stderr, want) {
			t.Errorf("stderr lacks %q; stderr:\n%s", want, denied.stderr)
		}
	}

	hintCommands := kubectlCommandsIn(denied.stderr)
	if len(hintCommands) != 2 {
		t.Fatalf("found %d kubectl commands in the hint, want 2 (role, rolebinding):\n%s",
			len(hintCommands), denied.stderr)
	}
	for _, command := range hintCommands {
		result := runKubectl(t, pinnedKubectl(), env.cluster.KubeconfigPath, command...)
		if result.exitCode != exitOK {
			t.Fatalf("hint command kubectl %s failed: %s", strings.Join(command, " "), result)
		}
	}

	allowed := runPlugin(t, nil, args...)
	if allowed.exitCode != exitOK {
		t.Fatalf("after applying the hint: %s", allowed)
	}
	credential := decodeExecCredential(t, allowed.stdout)
	claims := decodeClaims(t, credential.Status.Token)
	if got := claims.Subject; got != tn.username() {
		t.Errorf("token subject = %q, want %q", got, tn.username())
	}
}

// kubectlCommandsIn returns the arguments of each line of text that starts with "kubectl ".
// It splits on spaces, which holds for the hint as long as no name needs shell quoting.
func kubectlCommandsIn(text string) [][]string {
	var commands [][]string
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "kubectl "); ok {
			commands = append(commands, strings.Fields(rest))
		}
	}
	return commands
}

func TestPluginExitCodes(t *testing.T) {
	tn := newTenant(t, nil)
	badTokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(badTokenFile, []byte("not-a-valid-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	closedPort := closedLoopbackAddress(t)

	tests := []struct {
		name     string
		args     []string
		wantCode int
		// wantStderr are fragments the message must contain.
		wantStderr []string
		// wantTokenRequests is how many TokenRequests the run may reach the API server with.
		wantTokenRequests float64
	}{
		{
			name: "missing ServiceAccount",
			args: []string{"token", "-n", tn.namespace, "--service-account", "no-such-account",
				"--bootstrap-kubeconfig", env.cluster.KubeconfigPath, "--cache-dir", t.TempDir()},
			wantCode:          exitNotFound,
			wantStderr:        []string{"no-such-account", "not found"},
			wantTokenRequests: 1,
		},
		{
			name:              "expiration below 10m",
			args:              tn.pluginArgs("--expiration", "5m"),
			wantCode:          exitUsage,
			wantStderr:        []string{"--expiration"},
			wantTokenRequests: 0,
		},
		{
			name:              "expiration above 2^32 s",
			args:              tn.pluginArgs("--expiration", "1193047h"),
			wantCode:          exitUsage,
			wantStderr:        []string{"--expiration"},
			wantTokenRequests: 0,
		},
		{
			name: "rejected bootstrap token",
			args: []string{"token", "-n", tn.namespace, "--service-account", tn.serviceAccount,
				"--bootstrap-server", env.cluster.ServerURL, "--bootstrap-token-file", badTokenFile,
				"--bootstrap-certificate-authority", env.cluster.CAFile, "--no-cache"},
			wantCode:          exitUnauthorized,
			wantStderr:        []string{"401"},
			wantTokenRequests: 0,
		},
		{
			name: "unreachable API server",
			args: []string{"token", "-n", tn.namespace, "--service-account", tn.serviceAccount,
				"--bootstrap-server", "https://" + closedPort, "--bootstrap-token-file", badTokenFile,
				"--bootstrap-certificate-authority", env.cluster.CAFile, "--no-cache", "--timeout", "5s"},
			wantCode:          exitUnreachable,
			wantStderr:        []string{closedPort},
			wantTokenRequests: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tokenRequestCount(t)
			result := runPlugin(t, nil, tt.args...)

			if result.exitCode != tt.wantCode {
				t.Errorf("exit code = %d, want %d\n%s", result.exitCode, tt.wantCode, result)
			}
			if result.stdout != "" {
				t.Errorf("stdout = %q, want nothing on failure", redactJWTs(result.stdout))
			}
			for _, want := range tt.wantStderr {
				if !strings.Contains(result.stderr, want) {
					t.Errorf("stderr lacks %q; stderr:\n%s", want, result.stderr)
				}
			}
			after := waitForTokenRequests(t, before+tt.wantTokenRequests)
			if after-before != tt.wantTokenRequests {
				t.Errorf("run caused %v TokenRequests, want %v", after-before, tt.wantTokenRequests)
			}
		})
	}
}

// closedLoopbackAddress returns a 127.0.0.1 address on which nothing listens, by binding a
// port and releasing it.
func closedLoopbackAddress(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := listener.Addr().String()
	listener.Close()
	return address
}

// ruleCreateToken grants creating tokens for one ServiceAccount.
func ruleCreateToken(serviceAccount string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{
		APIGroups:     []string{""},
		Resources:     []string{"serviceaccounts/token"},
		ResourceNames: []string{serviceAccount},
		Verbs:         []string{"create"},
	}
}
