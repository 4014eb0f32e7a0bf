package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestKubectlActsAsServiceAccount(t *testing.T) {
	tn := newTenant(t, podReader)
	tn.createPendingPod(t, "probe")
	kubeconfig := tn.tenantKubeconfig(t)

	for _, kubectl := range env.kubectls {
		t.Run(kubectl.name, func(t *testing.T) {
			if got := whoAmI(t, kubectl, kubeconfig); got != tn.username() {
				t.Errorf("auth whoami = %q, want %q", got, tn.username())
			}

			list := runKubectl(t, kubectl, kubeconfig, "get", "pods", "-n", tn.namespace, "-o", "name")
			if list.exitCode != exitOK {
				t.Fatalf("get pods failed: %s", list)
			}
			if got := strings.TrimSpace(list.stdout); got != "pod/probe" {
				t.Errorf("get pods -o name printed %q, want pod/probe", got)
			}

			deletion := runKubectl(t, kubectl, kubeconfig, "delete", "pod", "probe", "-n", tn.namespace)
			if deletion.exitCode == exitOK {
				t.Fatalf("delete pod succeeded, want Forbidden: the Role grants get and list only")
			}
			wantDenial := fmt.Sprintf("User %q cannot delete resource \"pods\"", tn.username())
			if !strings.Contains(deletion.stderr, "Forbidden") || !strings.Contains(deletion.stderr, wantDenial) {
				t.Errorf("delete pod stderr = %q, want Forbidden with %q", deletion.stderr, wantDenial)
			}
			_, err := env.admin.CoreV1().Pods(tn.namespace).Get(context.Background(), "probe", metav1.GetOptions{})
			if err != nil {
				t.Errorf("pod probe after the forbidden delete: %v, want it to still exist", err)
			}
		})
	}
}

func TestKubectlSecondCallUsesCache(t *testing.T) {
	tn := newTenant(t, podReader)
	kubeconfig := tn.tenantKubeconfig(t)
	kubectl := pinnedKubectl()

	before := tokenRequestCount(t)
	if got := whoAmI(t, kubectl, kubeconfig); got != tn.username() {
		t.Fatalf("first auth whoami = %q, want %q", got, tn.username())
	}
	afterFirst := waitForTokenRequests(t, before+1)
	if afterFirst != before+1 {
		t.Errorf("first kubectl call caused %v TokenRequests, want 1", afterFirst-before)
	}

	list := runKubectl(t, kubectl, kubeconfig, "get", "pods", "-n", tn.namespace)
	if list.exitCode != exitOK {
		t.Fatalf("second kubectl call failed: %s", list)
	}
	afterSecond := waitForTokenRequests(t, afterFirst)
	if afterSecond != afterFirst {
		t.Errorf("second kubectl call caused %v TokenRequests, want 0 (token from the cache)",
			afterSecond-afterFirst)
	}
}

func TestConcurrentKubectlMintOnce(t *testing.T) {
	const processes = 20
	tn := newTenant(t, podReader)
	kubeconfig := tn.tenantKubeconfig(t)
	kubectl := pinnedKubectl()
	before := tokenRequestCount(t)

	environment := childEnv(t)
	args := []string{"--kubeconfig", kubeconfig,
		"auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"}
	results := make([]commandResult, processes)
	errs := make([]error, processes)
	var started, finished sync.WaitGroup
	start := make(chan struct{})
	for i := range processes {
		started.Add(1)
		finished.Add(1)
		go func() {
			defer finished.Done()
			started.Done()
			<-start
			results[i], errs[i] = runCommand(environment, kubectl.path, args...)
		}()
	}
	started.Wait()
	close(start)
	finished.Wait()

	for i, result := range results {
		if errs[i] != nil {
			t.Errorf("kubectl %d: %v", i, errs[i])
			continue
		}
		if result.exitCode != exitOK {
			t.Errorf("kubectl %d failed: %s", i, result)
			continue
		}
		if result.stdout != tn.username() {
			t.Errorf("kubectl %d: auth whoami = %q, want %q", i, result.stdout, tn.username())
		}
	}
	after := waitForTokenRequests(t, before+1)
	if after != before+1 {
		t.Errorf("%d concurrent kubectl calls caused %v TokenRequests, want exactly 1",
			processes, after-before)
	}
}

func TestKubectlExecAPIVersions(t *testing.T) {
	tests := []struct {
		name               string
		apiVersion         string
		provideClusterInfo bool
	}{
		{name: "v1", apiVersion: execV1, provideClusterInfo: true},
		{name: "v1beta1", apiVersion: execV1beta1, provideClusterInfo: true},
		{name: "v1 without cluster info", apiVersion: execV1, provideClusterInfo: false},
		{name: "v1beta1 without cluster info", apiVersion: execV1beta1, provideClusterInfo: false},
	}
	tn := newTenant(t, podReader)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A cache of its own makes each case mint a token, not reuse the previous case's.
			caseTenant := tn
			caseTenant.cacheDir = t.TempDir()
			kubeconfig := writeKubeconfig(t, execStanza{
				apiVersion:         tt.apiVersion,
				args:               caseTenant.pluginArgs(),
				provideClusterInfo: tt.provideClusterInfo,
			})
			for _, kubectl := range env.kubectls {
				if got := whoAmI(t, kubectl, kubeconfig); got != tn.username() {
					t.Errorf("%s kubectl auth whoami = %q, want %q", kubectl.name, got, tn.username())
				}
			}
		})
	}
}
