// Command refreshclient is a long-running client-go program for the end-to-end tests. It
// loads a kubeconfig whose user is an exec credential plugin, creates SelfSubjectReviews at
// a fixed interval for a fixed duration through one clientset, and prints a JSON report.
//
// It shows whether client-go's exec authenticator re-runs the plugin when the printed
// expirationTimestamp passes, and whether calls keep succeeding across that refresh. It
// records a SHA-256 fingerprint of each distinct bearer token it sends and never the token.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Report is the JSON document printed on stdout.
type Report struct {
	// Calls is the number of SelfSubjectReviews attempted.
	Calls int `json:"calls"`
	// Failures contains the error of each failed call, in order.
	Failures []string `json:"failures"`
	// Usernames contains each distinct user name the API server reported.
	Usernames []string `json:"usernames"`
	// TokenFingerprints contains the first 16 hex digits of the SHA-256 of each distinct
	// bearer token sent, in the order first seen.
	TokenFingerprints []string `json:"tokenFingerprints"`
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "path of the kubeconfig to use (required)")
	duration := flag.Duration("duration", 20*time.Second, "how long to keep making calls")
	interval := flag.Duration("interval", 250*time.Millisecond, "pause between calls")
	flag.Parse()
	if *kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "missing -kubeconfig: pass the kubeconfig whose exec plugin to exercise")
		os.Exit(2)
	}

	report, err := run(*kubeconfig, *duration, *interval)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(report); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(kubeconfig string, duration, interval time.Duration) (*Report, error) {
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %s: %w", kubeconfig, err)
	}
	recorder := &tokenRecorder{}
	// client-go adds the exec authenticator's wrapper after this one, so the authenticator
	// sets the Authorization header before this wrapper reads it.
	config.Wrap(recorder.wrap)
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, fmt.Errorf("create client: from %s: %w", kubeconfig, err)
	}

	report := &Report{Failures: []string{}, Usernames: []string{}}
	deadline := time.Now().Add(duration)
	for time.Now().Before(deadline) {
		report.Calls++
		username, err := whoAmI(clientset)
		if err != nil {
			report.Failures = append(report.Failures,
				fmt.Sprintf("%s: %v", time.Now().Format(time.RFC3339Nano), err))
		} else if !slices.Contains(report.Usernames, username) {
			report.Usernames = append(report.Usernames, username)
		}
		time.Sleep(interval)
	}
	report.TokenFingerprints = recorder.fingerprints()
	return report, nil
}

func whoAmI(clientset *kubernetes.Clientset) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	review, err := clientset.AuthenticationV1().SelfSubjectReviews().Create(ctx,
		&authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return review.Status.UserInfo.Username, nil
}

// tokenRecorder keeps the fingerprint of every distinct bearer token that passes through.
type tokenRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *tokenRecorder) wrap(next http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(request *http.Request) (*http.Response, error) {
		if token, ok := strings.CutPrefix(request.Header.Get("Authorization"), "Bearer "); ok {
			r.record(token)
		}
		return next.RoundTrip(request)
	})
}

func (r *tokenRecorder) record(token string) {
	sum := sha256.Sum256([]byte(token))
	fingerprint := hex.EncodeToString(sum[:8])

	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.seen, fingerprint) {
		r.seen = append(r.seen, fingerprint)
	}
}

func (r *tokenRecorder) fingerprints() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string{}, r.seen...)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(request *http.Request) (*http.Response, error) {
	return f(request)
}
