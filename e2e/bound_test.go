package e2e

import (
	"context"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// boundTokenRejectionTimeout bounds the wait for the API server to reject a token whose
// bound object is gone. kube-apiserver caches successful token authentications for 10 s
// (its built-in token cache TTL), so rejection can lag the deletion by that much.
const boundTokenRejectionTimeout = 15 * time.Second

func TestBoundTokenDiesWithObject(t *testing.T) {
	tests := []struct {
		kind string
		// create creates the object and returns its name and UID.
		create func(t *testing.T, tn tenant) (string, types.UID)
		delete func(tn tenant, name string) error
		// claim returns the token's claim about the bound object, or nil if it has none.
		claim func(claims tokenClaims) *boundObjectID
	}{
		{
			kind: "Secret",
			create: func(t *testing.T, tn tenant) (string, types.UID) {
				secret, err := env.admin.CoreV1().Secrets(tn.namespace).Create(context.Background(),
					&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "anchor"}}, metav1.CreateOptions{})
				if err != nil {
					t.Fatalf("create Secret: %v", err)
				}
				return secret.Name, secret.UID
			},
			delete: func(tn tenant, name string) error {
				return env.admin.CoreV1().Secrets(tn.namespace).Delete(context.Background(), name,
					metav1.DeleteOptions{})
			},
			claim: func(claims tokenClaims) *boundObjectID { return claims.Kubernetes.Secret },
		},
		{
			kind: "Pod",
			create: func(t *testing.T, tn tenant) (string, types.UID) {
				pod := tn.createPendingPod(t, "anchor")
				return pod.Name, pod.UID
			},
			delete: func(tn tenant, name string) error {
				gracePeriod := int64(0)
				return env.admin.CoreV1().Pods(tn.namespace).Delete(context.Background(), name,
					metav1.DeleteOptions{GracePeriodSeconds: &gracePeriod})
			},
			claim: func(claims tokenClaims) *boundObjectID { return claims.Kubernetes.Pod },
		},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			tn := newTenant(t, nil)
			name, uid := tt.create(t, tn)

			result := runPlugin(t, nil, tn.pluginArgs(
				"--bound-object-kind", tt.kind, "--bound-object-name", name)...)
			if result.exitCode != exitOK {
				t.Fatalf("plugin failed: %s", result)
			}
			token := decodeExecCredential(t, result.stdout).Status.Token

			bound := tt.claim(decodeClaims(t, token))
			if bound == nil {
				t.Fatalf("token has no kubernetes.io.%s claim", tt.kind)
			}
			if bound.Name != name || bound.UID != string(uid) {
				t.Errorf("bound %s claim = %+v, want name %q uid %q", tt.kind, *bound, name, uid)
			}
			if got, err := reviewUsername(token); err != nil || got != tn.username() {
				t.Fatalf("token before deleting the %s: user %q, error %v; want %q",
					tt.kind, got, err, tn.username())
			}

			if err := tt.delete(tn, name); err != nil {
				t.Fatalf("delete %s: %v", tt.kind, err)
			}
			var lastErr error
			rejected := eventually(t, boundTokenRejectionTimeout, func() bool {
				_, lastErr = reviewUsername(token)
				return apierrors.IsUnauthorized(lastErr)
			})
			if !rejected {
				t.Errorf("token still accepted %s after deleting its bound %s (last error: %v), want 401",
					boundTokenRejectionTimeout, tt.kind, lastErr)
			}
		})
	}
}

// reviewUsername authenticates with token alone and returns the user name the API server
// assigns it.
func reviewUsername(token string) (string, error) {
	config := rest.AnonymousClientConfig(env.cluster.Config)
	config.BearerToken = token
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	review, err := clientset.AuthenticationV1().SelfSubjectReviews().Create(ctx,
		&authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return review.Status.UserInfo.Username, nil
}
