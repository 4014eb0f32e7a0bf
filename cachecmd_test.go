package main

import (
	"testing"

	"github.com/kube-sa-token/kube-sa-token/cache"
)

func TestDescribeSource(t *testing.T) {
	tests := []struct {
		name string
		in   cache.Inputs
		want string
	}{
		{"server", cache.Inputs{BootstrapSource: "server", BootstrapServer: "https://10.0.0.1:6443"}, "server https://10.0.0.1:6443"},
		{
			"kubeconfig list with context",
			cache.Inputs{BootstrapSource: "kubeconfig", BootstrapIdentity: `context="ops" file="/home/u/.kube/config" size=10 mtime=1 file="/tmp/a b" absent`},
			`kubeconfig /home/u/.kube/config:"/tmp/a b" context ops`,
		},
		{
			"kubeconfig current context",
			cache.Inputs{BootstrapSource: "kubeconfig", BootstrapIdentity: `context="" file="/k" size=1`},
			"kubeconfig /k",
		},
		{"opaque identity", cache.Inputs{BootstrapSource: "kubeconfig", BootstrapIdentity: "garbage"}, "kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeSource(tt.in); got != tt.want {
				t.Errorf("describeSource() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDescribeAudiences(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, "(API server's)"},
		{[]string{"vault", "aws"}, "vault,aws"},
		{[]string{"a b", "x,y", "vault"}, `"a b","x,y",vault`},
		{[]string{"evil\x1b[31mRED", "https://kubernetes.default.svc"}, `"evil\x1b[31mRED",https://kubernetes.default.svc`},
	}
	for _, tt := range tests {
		if got := describeAudiences(tt.in); got != tt.want {
			t.Errorf("describeAudiences(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
