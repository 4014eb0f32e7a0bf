package bootstrap

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

func TestOptionsValidate(t *testing.T) {
	dir := t.TempDir()
	tokenFile := writeFile(t, "token", bootstrapToken+"\n")
	emptyFile := writeFile(t, "empty", " \n")
	caFile := writeFile(t, "ca.crt", string(newTestCA(t).certPEM))
	notPEM := writeFile(t, "not-pem.crt", "not a certificate")
	absent := filepath.Join(dir, "absent")
	const server = "https://10.0.0.1:6443"
	withEnvToken := envMap(map[string]string{TokenEnv: bootstrapToken})

	tests := []struct {
		name      string
		options   Options
		wantParts []string // nil means valid
	}{
		{name: "default kubeconfig", options: Options{}},
		{name: "kubeconfig and context", options: Options{Kubeconfig: "/k", Context: "admin"}},
		{name: "server with token file and CA", options: Options{Server: server, TokenFile: tokenFile, CAFile: caFile}},
		{name: "server with env token and insecure", options: Options{Server: server, Getenv: withEnvToken, InsecureSkipTLSVerify: true}},
		{name: "server with Token field", options: Options{Server: server, Token: bootstrapToken, CAFile: caFile}},
		{name: "server with path prefix", options: Options{Server: server + "/k8s/clusters/c-1", TokenFile: tokenFile, CAFile: caFile}},
		{name: "in-cluster", options: Options{InCluster: true}},

		{
			name:      "in-cluster with server",
			options:   Options{InCluster: true, Server: server},
			wantParts: []string{flagInCluster, "cannot be combined with", flagServer},
		},
		{
			name:      "in-cluster with kubeconfig",
			options:   Options{InCluster: true, Kubeconfig: "/k"},
			wantParts: []string{flagInCluster, flagKubeconfig},
		},
		{
			name:      "in-cluster with context",
			options:   Options{InCluster: true, Context: "admin"},
			wantParts: []string{flagInCluster, flagContext},
		},
		{
			name:      "in-cluster with token file",
			options:   Options{InCluster: true, TokenFile: tokenFile},
			wantParts: []string{flagInCluster, flagTokenFile},
		},
		{
			name:      "in-cluster with env token",
			options:   Options{InCluster: true, Getenv: withEnvToken},
			wantParts: []string{TokenEnv, flagInCluster, "unset it"},
		},
		{
			name:      "server with kubeconfig",
			options:   Options{Server: server, Kubeconfig: "/k", TokenFile: tokenFile, CAFile: caFile},
			wantParts: []string{flagServer, flagKubeconfig},
		},
		{
			name:      "server with context",
			options:   Options{Server: server, Context: "admin", TokenFile: tokenFile, CAFile: caFile},
			wantParts: []string{flagServer, flagContext},
		},
		{
			name:      "server without token",
			options:   Options{Server: server, CAFile: caFile},
			wantParts: []string{server, "needs a bearer token", flagTokenFile, TokenEnv},
		},
		{
			name:      "server with both tokens",
			options:   Options{Server: server, TokenFile: tokenFile, Getenv: withEnvToken, CAFile: caFile},
			wantParts: []string{flagTokenFile, tokenFile, TokenEnv, "keep one"},
		},
		{
			name:      "token file without server",
			options:   Options{TokenFile: tokenFile},
			wantParts: []string{flagTokenFile, "requires " + flagServer},
		},
		{
			name:      "env token without server",
			options:   Options{Getenv: withEnvToken},
			wantParts: []string{TokenEnv, flagServer},
		},
		{
			name:      "CA without server",
			options:   Options{CAFile: caFile},
			wantParts: []string{flagCAFile, "requires " + flagServer},
		},
		{
			name:      "insecure without server",
			options:   Options{InsecureSkipTLSVerify: true},
			wantParts: []string{flagInsecure, "requires " + flagServer},
		},
		{
			name:      "server without CA or insecure",
			options:   Options{Server: server, TokenFile: tokenFile},
			wantParts: []string{server, flagCAFile, flagInsecure},
		},
		{
			name:      "server with CA and insecure",
			options:   Options{Server: server, TokenFile: tokenFile, CAFile: caFile, InsecureSkipTLSVerify: true},
			wantParts: []string{flagCAFile, caFile, flagInsecure, "keep one"},
		},
		{
			name:      "http server",
			options:   Options{Server: "http://10.0.0.1:8080", TokenFile: tokenFile, CAFile: caFile},
			wantParts: []string{`"http://10.0.0.1:8080"`, "must be https", "clear text"},
		},
		{
			name:      "server without scheme",
			options:   Options{Server: "10.0.0.1:6443", TokenFile: tokenFile, CAFile: caFile},
			wantParts: []string{`"10.0.0.1:6443"`, "https://host[:port]"},
		},
		{
			name:      "server without host",
			options:   Options{Server: "https://", TokenFile: tokenFile, CAFile: caFile},
			wantParts: []string{"host is missing"},
		},
		{
			name:      "server with query",
			options:   Options{Server: server + "?x=1", TokenFile: tokenFile, CAFile: caFile},
			wantParts: []string{"query or fragment"},
		},
		{
			name:      "server with user information",
			options:   Options{Server: "https://admin:hunter22@10.0.0.1:6443", TokenFile: tokenFile, CAFile: caFile},
			wantParts: []string{"user information", flagTokenFile},
		},
		{
			name:      "unreadable token file",
			options:   Options{Server: server, TokenFile: absent, CAFile: caFile},
			wantParts: []string{"cannot read " + flagTokenFile, absent},
		},
		{
			name:      "empty token file",
			options:   Options{Server: server, TokenFile: emptyFile, CAFile: caFile},
			wantParts: []string{flagTokenFile, emptyFile, "is empty"},
		},
		{
			name:      "unreadable CA file",
			options:   Options{Server: server, TokenFile: tokenFile, CAFile: absent},
			wantParts: []string{"cannot read " + flagCAFile, absent},
		},
		{
			name:      "empty CA file",
			options:   Options{Server: server, TokenFile: tokenFile, CAFile: emptyFile},
			wantParts: []string{flagCAFile, emptyFile, "is empty"},
		},
		{
			name:      "token with a newline inside",
			options:   Options{Server: server, CAFile: caFile, Getenv: envMap(map[string]string{TokenEnv: "FAKEBOOT.abc\ndef"})},
			wantParts: []string{TokenEnv, "white space or control characters"},
		},
		{
			name:      "token file with two lines",
			options:   Options{Server: server, TokenFile: writeFile(t, "two-lines", "FAKEBOOT.abc\nFAKEBOOT.def\n"), CAFile: caFile},
			wantParts: []string{flagTokenFile, "white space or control characters"},
		},
		{
			name:      "CA file without certificate",
			options:   Options{Server: server, TokenFile: tokenFile, CAFile: notPEM},
			wantParts: []string{flagCAFile, notPEM, "contains no PEM certificate"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.options.Getenv == nil {
				tt.options.Getenv = envMap(nil)
			}

			err := tt.options.Validate()

			if tt.wantParts == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if got := exitCodeOf(err); got != ExitUsage {
				t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitUsage, err)
			}
			for _, part := range tt.wantParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error does not contain %q:\n%s", part, err)
				}
			}
			for _, secret := range []string{bootstrapToken, "hunter22"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error contains the secret %q:\n%s", secret, err)
				}
			}
		})
	}
}

func TestOptionsModeAndDescribe(t *testing.T) {
	home := clientcmd.RecommendedHomeFile
	tests := []struct {
		name         string
		options      Options
		wantMode     Mode
		wantDescribe string
	}{
		{
			name:         "default",
			options:      Options{},
			wantMode:     ModeKubeconfig,
			wantDescribe: fmt.Sprintf("kubeconfig %q (current context)", home),
		},
		{
			name:         "explicit kubeconfig and context",
			options:      Options{Kubeconfig: "/home/u/.kube/config", Context: "admin"},
			wantMode:     ModeKubeconfig,
			wantDescribe: `kubeconfig "/home/u/.kube/config" (context "admin")`,
		},
		{
			name:         "KUBECONFIG list",
			options:      Options{Getenv: envMap(map[string]string{"KUBECONFIG": "/a" + string(filepath.ListSeparator) + "/b"})},
			wantMode:     ModeKubeconfig,
			wantDescribe: fmt.Sprintf("kubeconfig %q (current context)", "/a"+string(filepath.ListSeparator)+"/b"),
		},
		{
			name:         "server",
			options:      Options{Server: "https://10.0.0.1:6443"},
			wantMode:     ModeServer,
			wantDescribe: "server https://10.0.0.1:6443",
		},
		{
			name:         "in-cluster",
			options:      Options{InCluster: true},
			wantMode:     ModeInCluster,
			wantDescribe: "in-cluster config",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.options.Getenv == nil {
				tt.options.Getenv = envMap(nil)
			}
			if got := tt.options.Mode(); got != tt.wantMode {
				t.Errorf("Mode() = %s, want %s", got, tt.wantMode)
			}
			if got := tt.options.Describe(); got != tt.wantDescribe {
				t.Errorf("Describe() = %s, want %s", got, tt.wantDescribe)
			}
		})
	}
}

func TestKubeconfigFilesList(t *testing.T) {
	separator := string(filepath.ListSeparator)
	tests := []struct {
		name       string
		kubeconfig string
		env        string
		want       []string
	}{
		{"explicit path ignores KUBECONFIG", "/x", "/a", []string{"/x"}},
		{"empty and repeated entries dropped", "", separator + "/a" + separator + separator + "/b" + separator + "/a", []string{"/a", "/b"}},
		{"home file when KUBECONFIG is unset", "", "", []string{clientcmd.RecommendedHomeFile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			options := Options{Kubeconfig: tt.kubeconfig, Getenv: envMap(map[string]string{"KUBECONFIG": tt.env})}

			got := options.kubeconfigFiles()

			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("kubeconfigFiles() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBearerTokenForRedaction(t *testing.T) {
	tokenFile := writeFile(t, "token", bootstrapToken+"\n")
	tests := []struct {
		name    string
		options Options
		want    string
	}{
		{"token file", Options{Server: "https://127.0.0.1:6443", TokenFile: tokenFile, Getenv: envMap(nil)}, bootstrapToken},
		{"environment", Options{Server: "https://127.0.0.1:6443", Getenv: envMap(map[string]string{TokenEnv: bootstrapToken})}, bootstrapToken},
		{"kubeconfig mode", Options{Kubeconfig: "/nonexistent", Getenv: envMap(map[string]string{TokenEnv: bootstrapToken})}, ""},
		{"unreadable file", Options{Server: "https://127.0.0.1:6443", TokenFile: "/nonexistent/token", Getenv: envMap(nil)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.options.BearerToken(); got != tt.want {
				t.Errorf("BearerToken() = %q, want %q", got, tt.want)
			}
		})
	}
}
