package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientauthenticationv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kube-sa-token/kube-sa-token/e2e/controlplane"
)

// Exit codes of kube-sa-token, from its command-line contract.
const (
	exitOK           = 0
	exitUsage        = 2
	exitUnauthorized = 3
	exitForbidden    = 4
	exitNotFound     = 5
	exitUnreachable  = 6
)

// Exec credential API versions a kubeconfig exec stanza can name.
const (
	execV1      = "client.authentication.k8s.io/v1"
	execV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// commandTimeout bounds one kubectl or plugin run. The plugin's own default --timeout is 30 s.
const commandTimeout = time.Minute

type kubectlBinary struct {
	// name labels subtests: "pinned" or "PATH".
	name string
	path string
}

// findKubectls returns the pinned kubectl from toolsDir and, when it is a different file,
// the kubectl found on PATH.
func findKubectls(toolsDir string) []kubectlBinary {
	pinned := filepath.Join(toolsDir, controlplane.KubectlBinary)
	kubectls := []kubectlBinary{{name: "pinned", path: pinned}}

	onPath, err := exec.LookPath("kubectl")
	if err != nil {
		return kubectls
	}
	pinnedInfo, pinnedErr := os.Stat(pinned)
	pathInfo, pathErr := os.Stat(onPath)
	if pinnedErr == nil && pathErr == nil && os.SameFile(pinnedInfo, pathInfo) {
		return kubectls
	}
	return append(kubectls, kubectlBinary{name: "PATH", path: onPath})
}

func pinnedKubectl() kubectlBinary {
	return env.kubectls[0]
}

// tenant is one test's namespace and the ServiceAccount the plugin mints tokens for.
type tenant struct {
	namespace      string
	serviceAccount string
	cacheDir       string
}

// podReader grants what `kubectl get pods` needs and nothing else.
var podReader = []rbacv1.PolicyRule{{
	APIGroups: []string{""},
	Resources: []string{"pods"},
	Verbs:     []string{"get", "list"},
}}

// newTenant creates a namespace, the ServiceAccount "workload" with a Role holding rules
// bound to it, and an empty cache directory. The namespace is deleted when the test ends.
// NOTE: the throwaway control plane runs no namespace controller, so a deleted namespace
// stays Terminating there. That is harmless because the control plane lives for one run.
func newTenant(t *testing.T, rules []rbacv1.PolicyRule) tenant {
	t.Helper()
	ctx := context.Background()
	namespace, err := env.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "kst-e2e-",
			Labels:       map[string]string{"app.kubernetes.io/created-by": "kube-sa-token-e2e"},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		err := env.admin.CoreV1().Namespaces().Delete(context.Background(), namespace.Name,
			metav1.DeleteOptions{})
		if err != nil {
			t.Errorf("delete namespace %s: %v", namespace.Name, err)
		}
	})

	tn := tenant{namespace: namespace.Name, serviceAccount: "workload", cacheDir: t.TempDir()}
	tn.createServiceAccount(t, tn.serviceAccount, rules)
	return tn
}

// createServiceAccount creates a ServiceAccount and, unless rules is empty, a Role and
// RoleBinding of the same name that grant it rules.
func (tn tenant) createServiceAccount(t *testing.T, name string, rules []rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	_, err := env.admin.CoreV1().ServiceAccounts(tn.namespace).Create(ctx,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create ServiceAccount %s/%s: %v", tn.namespace, name, err)
	}
	if len(rules) == 0 {
		return
	}

	meta := metav1.ObjectMeta{Name: name}
	_, err = env.admin.RbacV1().Roles(tn.namespace).Create(ctx,
		&rbacv1.Role{ObjectMeta: meta, Rules: rules}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Role %s/%s: %v", tn.namespace, name, err)
	}
	_, err = env.admin.RbacV1().RoleBindings(tn.namespace).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: meta,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects: []rbacv1.Subject{{
			Kind: rbacv1.ServiceAccountKind, Namespace: tn.namespace, Name: name,
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create RoleBinding %s/%s: %v", tn.namespace, name, err)
	}
}

// username is the user name the API server gives the tenant's ServiceAccount.
func (tn tenant) username() string {
	return "system:serviceaccount:" + tn.namespace + ":" + tn.serviceAccount
}

// mintToken mints a token for a ServiceAccount of the tenant with the admin client.
func (tn tenant) mintToken(t *testing.T, serviceAccount string) string {
	t.Helper()
	expirationSeconds := int64(3600)
	request, err := env.admin.CoreV1().ServiceAccounts(tn.namespace).CreateToken(
		context.Background(), serviceAccount, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expirationSeconds},
		}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("mint token for %s/%s: %v", tn.namespace, serviceAccount, err)
	}
	return request.Status.Token
}

// createPendingPod creates a Pod that runs as the tenant's ServiceAccount and never
// starts: the throwaway control plane has no scheduler or kubelet, and on a real cluster
// the node selector matches no node.
func (tn tenant) createPendingPod(t *testing.T, name string) *corev1.Pod {
	t.Helper()
	automount := false
	pod, err := env.admin.CoreV1().Pods(tn.namespace).Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			ServiceAccountName:           tn.serviceAccount,
			AutomountServiceAccountToken: &automount,
			NodeSelector:                 map[string]string{"kube-sa-token.e2e/no-such-node": "true"},
			Containers:                   []corev1.Container{{Name: "never-started", Image: "never-pulled"}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create Pod %s/%s: %v", tn.namespace, name, err)
	}
	return pod
}

// pluginArgs returns the arguments of `kube-sa-token token` for the tenant's
// ServiceAccount, bootstrapped from the admin kubeconfig, followed by extra.
func (tn tenant) pluginArgs(extra ...string) []string {
	args := []string{
		"token",
		"--namespace", tn.namespace,
		"--service-account", tn.serviceAccount,
		"--cache-dir", tn.cacheDir,
		"--bootstrap-kubeconfig", env.cluster.KubeconfigPath,
	}
	return append(args, extra...)
}

// execStanza describes the users[].user.exec entry of a generated kubeconfig.
type execStanza struct {
	apiVersion         string
	args               []string
	env                map[string]string
	provideClusterInfo bool
}

// writeKubeconfig writes a kubeconfig whose only user runs the plugin and returns its path.
func writeKubeconfig(t *testing.T, stanza execStanza) string {
	t.Helper()
	cluster := &clientcmdapi.Cluster{
		Server:                   env.cluster.Config.Host,
		CertificateAuthorityData: env.cluster.Config.CAData,
		CertificateAuthority:     env.cluster.Config.CAFile,
		InsecureSkipTLSVerify:    env.cluster.Config.Insecure,
	}
	exec := &clientcmdapi.ExecConfig{
		Command:            env.plugin,
		Args:               stanza.args,
		APIVersion:         stanza.apiVersion,
		InteractiveMode:    clientcmdapi.NeverExecInteractiveMode,
		ProvideClusterInfo: stanza.provideClusterInfo,
	}
	for name, value := range stanza.env {
		exec.Env = append(exec.Env, clientcmdapi.ExecEnvVar{Name: name, Value: value})
	}

	config := clientcmdapi.NewConfig()
	config.Clusters["e2e"] = cluster
	config.AuthInfos["plugin"] = &clientcmdapi.AuthInfo{Exec: exec}
	config.Contexts["plugin"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "plugin"}
	config.CurrentContext = "plugin"

	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*config, path); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	return path
}

// tenantKubeconfig writes the usual kubeconfig for the tenant: exec API v1, cluster info
// provided, bootstrapped from the admin kubeconfig, plus extra plugin arguments.
func (tn tenant) tenantKubeconfig(t *testing.T, extra ...string) string {
	t.Helper()
	return writeKubeconfig(t, execStanza{
		apiVersion:         execV1,
		args:               tn.pluginArgs(extra...),
		provideClusterInfo: true,
	})
}

// commandResult is the outcome of one finished child process.
type commandResult struct {
	stdout   string
	stderr   string
	exitCode int
}

// String formats the result for a failure message, with any JWT in it redacted.
func (r commandResult) String() string {
	return redactJWTs(fmt.Sprintf("exit code %d\nstdout:\n%s\nstderr:\n%s", r.exitCode, r.stdout, r.stderr))
}

// jwtPattern matches a compact JWS: three base64url segments, the first starting with the
// encoding of `{"`.
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// redactJWTs replaces every JWT in text, so that a failure message never shows a token
// even when the plugin printed one where it should not have.
func redactJWTs(text string) string {
	return jwtPattern.ReplaceAllString(text, "<redacted JWT>")
}

// childEnv is the environment of every kubectl and plugin run: PATH, a private HOME and
// extra. The private HOME keeps the user's ~/.kube out, and leaving everything else out
// keeps the caller's KUBECONFIG and KUBE_SA_TOKEN_* variables from applying.
func childEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, extra...)
}

// run runs a command to completion with commandTimeout and returns its output and exit
// code. It fails the test only when the command cannot be run at all or times out.
func run(t *testing.T, environment []string, name string, args ...string) commandResult {
	t.Helper()
	result, err := runCommand(environment, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return result
}

// runCommand is run for goroutines other than the test's own, which must not call
// t.Fatal: it returns an error when the command cannot be run at all or times out.
func runCommand(environment []string, name string, args ...string) (commandResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = environment
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	err := cmd.Run()
	result := commandResult{stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		return result, fmt.Errorf("%s %s timed out after %s", name, strings.Join(args, " "), commandTimeout)
	}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		result.exitCode = exitErr.ExitCode()
	case err != nil:
		return result, fmt.Errorf("run %s %s: %w", name, strings.Join(args, " "), err)
	}
	return result, nil
}

func runKubectl(t *testing.T, kubectl kubectlBinary, kubeconfig string, args ...string) commandResult {
	t.Helper()
	return run(t, childEnv(t), kubectl.path, append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

// whoAmI runs `kubectl auth whoami` and returns the user name, failing the test if
// kubectl fails.
func whoAmI(t *testing.T, kubectl kubectlBinary, kubeconfig string) string {
	t.Helper()
	result := runKubectl(t, kubectl, kubeconfig,
		"auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if result.exitCode != exitOK {
		t.Fatalf("%s kubectl auth whoami failed: %s", kubectl.name, result)
	}
	return result.stdout
}

// runPlugin runs kube-sa-token directly with the given environment additions.
func runPlugin(t *testing.T, extraEnv []string, args ...string) commandResult {
	t.Helper()
	return run(t, childEnv(t, extraEnv...), env.plugin, args...)
}

// decodeExecCredential parses stdout of a plugin run, failing the test unless it is
// exactly one JSON object with kind ExecCredential.
func decodeExecCredential(t *testing.T, stdout string) clientauthenticationv1.ExecCredential {
	t.Helper()
	decoder := json.NewDecoder(strings.NewReader(stdout))
	var credential clientauthenticationv1.ExecCredential
	if err := decoder.Decode(&credential); err != nil {
		t.Fatalf("stdout is not an ExecCredential: %v\nstdout:\n%s", err, redactJWTs(stdout))
	}
	var extra json.RawMessage
	if err := decoder.Decode(&extra); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout holds more than one JSON value (next: %s, error: %v)",
			redactJWTs(string(extra)), err)
	}
	if credential.Kind != "ExecCredential" {
		t.Errorf("kind = %q, want ExecCredential", credential.Kind)
	}
	if credential.Status == nil || credential.Status.Token == "" {
		t.Fatalf("ExecCredential has no status.token")
	}
	return credential
}

// execInfo returns KUBERNETES_EXEC_INFO as client-go sets it for a non-interactive plugin.
func execInfo(t *testing.T, apiVersion string) string {
	t.Helper()
	info := map[string]any{
		"apiVersion": apiVersion,
		"kind":       "ExecCredential",
		"spec":       map[string]any{"interactive": false},
	}
	encoded, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	return "KUBERNETES_EXEC_INFO=" + string(encoded)
}

// tokenClaims are the JWT claims of a ServiceAccount token that the tests check.
type tokenClaims struct {
	Audience   []string `json:"aud"`
	Expiry     int64    `json:"exp"`
	IssuedAt   int64    `json:"iat"`
	Subject    string   `json:"sub"`
	Kubernetes struct {
		Namespace      string         `json:"namespace"`
		ServiceAccount boundObjectID  `json:"serviceaccount"`
		Pod            *boundObjectID `json:"pod"`
		Secret         *boundObjectID `json:"secret"`
	} `json:"kubernetes.io"`
}

type boundObjectID struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// decodeClaims decodes the payload of a JWT without verifying it. The API server verifies
// the token whenever a test uses it.
func decodeClaims(t *testing.T, token string) tokenClaims {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token is not a JWT: %d dot-separated parts, want 3", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode JWT payload: %v", err)
	}
	var claims tokenClaims
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("parse JWT claims: %v", err)
	}
	return claims
}

// assertNoTokenIn fails the test if text contains the token or either secret-bearing part
// of it (payload, signature). The JWT header is the same for every token and not secret.
func assertNoTokenIn(t *testing.T, label, text, token string) {
	t.Helper()
	parts := strings.Split(token, ".")
	for _, secret := range append([]string{token}, parts[1:]...) {
		if len(secret) >= 16 && strings.Contains(text, secret) {
			t.Errorf("%s contains the token", label)
			return
		}
	}
}

// tokenRequestCount returns how many TokenRequests (POST .../serviceaccounts/NAME/token)
// the API server has served since it started, summed across response codes.
func tokenRequestCount(t *testing.T) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	families, err := env.cluster.Metrics(ctx)
	if err != nil {
		t.Fatalf("read API server metrics: %v", err)
	}
	family, ok := families["apiserver_request_total"]
	if !ok {
		t.Fatalf("apiserver_request_total missing from /metrics")
	}

	var total float64
	for _, metric := range family.GetMetric() {
		labels := map[string]string{}
		for _, label := range metric.GetLabel() {
			labels[label.GetName()] = label.GetValue()
		}
		isCreate := labels["verb"] == "POST" || labels["verb"] == "create"
		if isCreate && labels["resource"] == "serviceaccounts" && labels["subresource"] == "token" {
			total += metric.GetCounter().GetValue()
		}
	}
	return total
}

// tokenRequestSettleTime is how long a test waits before reading a TokenRequest count that
// should not have changed, so that a request still in flight is counted.
const tokenRequestSettleTime = time.Second

// waitForTokenRequests waits until the TokenRequest count reaches at least want, then
// returns the count after tokenRequestSettleTime.
func waitForTokenRequests(t *testing.T, want float64) float64 {
	t.Helper()
	eventually(t, 10*time.Second, func() bool { return tokenRequestCount(t) >= want })
	time.Sleep(tokenRequestSettleTime)
	return tokenRequestCount(t)
}

// eventually polls condition every 200 ms until it returns true or timeout passes, and
// reports whether it did.
func eventually(t *testing.T, timeout time.Duration, condition func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if condition() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestRedactJWTs(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{
			text: `{"status":{"token":"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"}}`,
			want: `{"status":{"token":"<redacted JWT>"}}`,
		},
		{text: "Bearer eyJa.eyJb.c-_d and eyJe.eyJf.g", want: "Bearer <redacted JWT> and <redacted JWT>"},
		{text: "no token here: eyJ alone, a.b.c", want: "no token here: eyJ alone, a.b.c"},
	}
	for _, tt := range tests {
		if got := redactJWTs(tt.text); got != tt.want {
			t.Errorf("redactJWTs(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
