// Command demo shows kube-sa-token end to end, as `make demo` runs it. It starts a throwaway
// etcd and kube-apiserver on 127.0.0.1 and creates a namespace, a ServiceAccount and a Role
// with the pinned kubectl. Then it writes a kubeconfig whose user runs the plugin, runs
// kubectl through it, and prints the plugin's ExecCredential with the token redacted.
//
// Everything lives in one temporary directory that is removed on exit. With -keep the
// control plane stays up until SIGINT or SIGTERM.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kube-sa-token/kube-sa-token/e2e/controlplane"
)

// The objects the demo creates.
const (
	namespace      = "demo"
	serviceAccount = "deployer"
	role           = "pod-reader"
)

type demo struct {
	plugin  string
	kubectl string
	dir     string
	cp      *controlplane.ControlPlane
	// kubeconfig is the kubeconfig whose user runs the plugin.
	kubeconfig string
}

func main() {
	plugin := flag.String("plugin", "", "path of the kube-sa-token binary (required)")
	binDir := flag.String("bin-dir", "bin", "directory containing etcd, kube-apiserver and kubectl")
	keep := flag.Bool("keep", false, "keep the control plane running until interrupted")
	flag.Parse()
	if *plugin == "" {
		fmt.Fprintln(os.Stderr, "missing -plugin: pass the kube-sa-token binary, e.g. -plugin ../bin/kube-sa-token")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *plugin, *binDir, *keep); err != nil {
		fmt.Fprintf(os.Stderr, "demo failed: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, plugin, binDir string, keep bool) (err error) {
	d := &demo{kubectl: filepath.Join(binDir, controlplane.KubectlBinary)}
	if d.plugin, err = filepath.Abs(plugin); err != nil {
		return err
	}
	if d.kubectl, err = filepath.Abs(d.kubectl); err != nil {
		return err
	}
	if d.dir, err = os.MkdirTemp("", "kube-sa-token-demo-"); err != nil {
		return err
	}
	defer os.RemoveAll(d.dir)

	if err := d.startControlPlane(ctx, binDir); err != nil {
		return err
	}
	defer d.stopControlPlane()

	steps := []func(context.Context) error{
		d.createServiceAccount,
		d.writeKubeconfig,
		d.runKubectlThroughPlugin,
		d.showExecCredential,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}

	if keep {
		d.printKeepInstructions()
		<-ctx.Done()
		fmt.Println()
	}
	return nil
}

func (d *demo) startControlPlane(ctx context.Context, binDir string) error {
	heading("Starting etcd and kube-apiserver on 127.0.0.1 (a few seconds)")
	dir := filepath.Join(d.dir, "control-plane")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	started := time.Now()
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: binDir, Dir: dir})
	if err != nil {
		return err
	}
	d.cp = cp
	fmt.Printf("kube-apiserver ready at %s after %s\n", cp.ServerURL, time.Since(started).Round(100*time.Millisecond))
	fmt.Printf("\"kubectl\" below is %s\n", d.kubectl)
	return nil
}

func (d *demo) stopControlPlane() {
	heading("Stopping the control plane and removing " + d.dir)
	if err := d.cp.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "stop control plane: %v\n", err)
	}
}

func (d *demo) createServiceAccount(ctx context.Context) error {
	heading("As the cluster admin: a namespace, a ServiceAccount and a Role that may read pods")
	admin := d.cp.KubeconfigPath
	commands := [][]string{
		{"create", "namespace", namespace},
		{"create", "serviceaccount", serviceAccount, "-n", namespace},
		{"create", "role", role, "--verb=get,list", "--resource=pods", "-n", namespace},
		{"create", "rolebinding", role, "--role=" + role,
			"--serviceaccount=" + namespace + ":" + serviceAccount, "-n", namespace},
	}
	for _, args := range commands {
		if _, err := d.kubectlRun(ctx, admin, args...); err != nil {
			return err
		}
	}
	return nil
}

func (d *demo) writeKubeconfig(context.Context) error {
	heading("A kubeconfig whose user runs kube-sa-token (bootstrapped from the admin kubeconfig)")
	config := clientcmdapi.NewConfig()
	config.Clusters["demo"] = &clientcmdapi.Cluster{
		Server:               d.cp.ServerURL,
		CertificateAuthority: d.cp.CAFile,
	}
	config.AuthInfos[serviceAccount] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion:         "client.authentication.k8s.io/v1",
		Command:            d.plugin,
		Args:               d.pluginArgs(),
		Env:                []clientcmdapi.ExecEnvVar{},
		InteractiveMode:    clientcmdapi.NeverExecInteractiveMode,
		ProvideClusterInfo: true,
	}}
	config.Contexts[serviceAccount] = &clientcmdapi.Context{
		Cluster: "demo", AuthInfo: serviceAccount, Namespace: namespace,
	}
	config.CurrentContext = serviceAccount

	d.kubeconfig = filepath.Join(d.dir, "demo.kubeconfig")
	if err := clientcmd.WriteToFile(*config, d.kubeconfig); err != nil {
		return fmt.Errorf("write demo kubeconfig: %s: %w", d.kubeconfig, err)
	}
	content, err := os.ReadFile(d.kubeconfig)
	if err != nil {
		return err
	}
	fmt.Printf("%s:\n%s", d.kubeconfig, usersSection(string(content)))
	return nil
}

func (d *demo) pluginArgs() []string {
	return []string{
		"token",
		"--namespace", namespace,
		"--service-account", serviceAccount,
		"--bootstrap-kubeconfig", d.cp.KubeconfigPath,
		"--cache-dir", filepath.Join(d.dir, "token-cache"),
	}
}

// usersSection returns the lines of a kubeconfig from "users:" to the end, which kubeconfig
// files written by clientcmd put last.
func usersSection(kubeconfig string) string {
	if index := strings.Index(kubeconfig, "\nusers:"); index >= 0 {
		return kubeconfig[index+1:]
	}
	return kubeconfig
}

func (d *demo) runKubectlThroughPlugin(ctx context.Context) error {
	heading("kubectl through the plugin: it acts as the ServiceAccount")
	if _, err := d.kubectlRun(ctx, d.kubeconfig, "auth", "whoami"); err != nil {
		return err
	}
	if _, err := d.kubectlRun(ctx, d.kubeconfig, "get", "pods"); err != nil {
		return err
	}

	heading("The Role grants pods only, so reading Secrets is forbidden")
	if _, err := d.kubectlRun(ctx, d.kubeconfig, "get", "secrets"); err == nil {
		return errors.New("kubectl get secrets succeeded, but the Role does not allow it")
	}
	return nil
}

// kubectlRun prints the command, runs it with output to the terminal, and returns its
// stdout.
func (d *demo) kubectlRun(ctx context.Context, kubeconfig string, args ...string) (string, error) {
	fmt.Printf("$ kubectl --kubeconfig %s %s\n", kubeconfig, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, d.kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stdout
	err := cmd.Run()
	fmt.Print(stdout.String())
	if err != nil {
		return "", fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return stdout.String(), nil
}

func (d *demo) showExecCredential(ctx context.Context) error {
	heading("What kubectl received: the plugin's ExecCredential, token redacted")
	fmt.Printf("$ kube-sa-token %s\n", strings.Join(d.pluginArgs(), " "))
	fmt.Println("  (with KUBERNETES_EXEC_INFO set as kubectl sets it: apiVersion v1 and, for")
	fmt.Println("  provideClusterInfo, the cluster's server, which is part of the cache key)")
	cmd := exec.CommandContext(ctx, d.plugin, d.pluginArgs()...)
	cmd.Env = append(os.Environ(), fmt.Sprintf(`KUBERNETES_EXEC_INFO={"apiVersion":"client.authentication.k8s.io/v1",`+
		`"kind":"ExecCredential","spec":{"interactive":false,"cluster":{"server":%q}}}`, d.cp.ServerURL))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("run kube-sa-token: %w", err)
	}

	redacted, claims, err := redactCredential(stdout)
	if err != nil {
		return err
	}
	fmt.Println(redacted)
	fmt.Printf("Token claims: %s\n", claims)
	fmt.Println("expirationTimestamp is the token's exp minus the refresh buffer (default 1m), so")
	fmt.Println("kubectl runs the plugin again before the token expires. Later runs within that time")
	fmt.Println("print the cached token without a TokenRequest.")
	return nil
}

// redactCredential returns the ExecCredential JSON with status.token replaced, and a
// summary of the token's non-secret claims.
func redactCredential(stdout []byte) (string, string, error) {
	var credential map[string]any
	if err := json.Unmarshal(stdout, &credential); err != nil {
		return "", "", fmt.Errorf("parse ExecCredential: %w", err)
	}
	status, _ := credential["status"].(map[string]any)
	token, _ := status["token"].(string)
	if token == "" {
		return "", "", errors.New("ExecCredential has no status.token")
	}
	status["token"] = fmt.Sprintf("<redacted: %d-character JWT>", len(token))

	var redacted strings.Builder
	encoder := json.NewEncoder(&redacted)
	encoder.SetEscapeHTML(false)
	encoder.SetIndent("", "  ")
	if err := encoder.Encode(credential); err != nil {
		return "", "", err
	}
	return strings.TrimSuffix(redacted.String(), "\n"), summarizeClaims(token), nil
}

func summarizeClaims(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "(not a JWT)"
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "(undecodable payload)"
	}
	var claims struct {
		Subject  string   `json:"sub"`
		Audience []string `json:"aud"`
		IssuedAt int64    `json:"iat"`
		Expiry   int64    `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "(unparsable payload)"
	}
	return fmt.Sprintf("sub=%s aud=%v iat=%s exp=%s", claims.Subject, claims.Audience,
		time.Unix(claims.IssuedAt, 0).UTC().Format(time.RFC3339),
		time.Unix(claims.Expiry, 0).UTC().Format(time.RFC3339))
}

func (d *demo) printKeepInstructions() {
	heading("The control plane keeps running")
	fmt.Printf(`Try it from another shell:
  export KUBECONFIG=%s
  %s auth whoami
  %s get pods
Admin kubeconfig: %s
Stop with Ctrl-C here, or: kill %d
`, d.kubeconfig, d.kubectl, d.kubectl, d.cp.KubeconfigPath, os.Getpid())
}

func heading(text string) {
	fmt.Printf("\n==> %s\n", text)
}
