package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// refreshClientReport mirrors the JSON report of cmd/refreshclient.
type refreshClientReport struct {
	Calls             int      `json:"calls"`
	Failures          []string `json:"failures"`
	Usernames         []string `json:"usernames"`
	TokenFingerprints []string `json:"tokenFingerprints"`
}

var (
	buildRefreshClientOnce sync.Once
	refreshClientPath      string
	refreshClientErr       error
)

// refreshClient builds cmd/refreshclient once per test run and returns its path.
func refreshClient(t *testing.T) string {
	t.Helper()
	buildRefreshClientOnce.Do(func() {
		refreshClientPath = filepath.Join(env.workDir, "refreshclient")
		output, err := exec.Command("go", "build", "-o", refreshClientPath, "./cmd/refreshclient").CombinedOutput()
		if err != nil {
			refreshClientErr = err
			refreshClientPath = string(output)
		}
	})
	if refreshClientErr != nil {
		t.Fatalf("build cmd/refreshclient: %v\n%s", refreshClientErr, refreshClientPath)
	}
	return refreshClientPath
}

// TestRefreshDuringLongRunningClient runs one client-go process for 20 s while the plugin
// prints an expirationTimestamp 8 s ahead (a 10m token minus a 9m52s refresh buffer). So
// client-go must run the plugin again at least once, and each run must mint a new token.
func TestRefreshDuringLongRunningClient(t *testing.T) {
	const (
		duration = 20 * time.Second
		// printedLifetime is --expiration minus --refresh-buffer.
		printedLifetime = 8 * time.Second
	)
	tn := newTenant(t, nil)
	kubeconfig := tn.tenantKubeconfig(t, "--expiration", "10m", "--refresh-buffer", "9m52s")
	client := refreshClient(t)
	before := tokenRequestCount(t)

	result := run(t, childEnv(t), client, "-kubeconfig", kubeconfig,
		"-duration", duration.String(), "-interval", "250ms")
	if result.exitCode != exitOK {
		t.Fatalf("refreshclient failed: %s", result)
	}
	var report refreshClientReport
	if err := json.Unmarshal([]byte(result.stdout), &report); err != nil {
		t.Fatalf("parse refreshclient report: %v\n%s", err, result.stdout)
	}

	if report.Calls < 40 {
		t.Errorf("refreshclient made %d calls in %s, want at least 40", report.Calls, duration)
	}
	if len(report.Failures) != 0 {
		t.Errorf("%d of %d calls failed, want none: %v", len(report.Failures), report.Calls, report.Failures)
	}
	if !slices.Equal(report.Usernames, []string{tn.username()}) {
		t.Errorf("user names = %v, want only %q", report.Usernames, tn.username())
	}

	// Runs at 0 s, about 8 s and about 16 s mint tokens. One fewer when the client starts
	// slowly, one more when a refresh lands just before the end.
	minted := waitForTokenRequests(t, before+2) - before
	wantMin, wantMax := float64(duration/printedLifetime), float64(duration/printedLifetime)+2
	if minted < wantMin || minted > wantMax {
		t.Errorf("%v TokenRequests during the run, want %v to %v", minted, wantMin, wantMax)
	}
	if got := len(report.TokenFingerprints); float64(got) != minted {
		t.Errorf("client sent %d distinct tokens, want one per TokenRequest (%v)", got, minted)
	}
}
