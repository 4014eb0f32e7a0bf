package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	serializerjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/klog/v2"
)

// tokenCodecs encode TokenRequests and decode TokenRequests and Status
// objects. Status is registered in core v1, where the API server puts it.
// The scheme is built on first use: a cache hit never needs it, and package
// init runs on every kubectl call.
var tokenCodecs = sync.OnceValue(func() serializer.CodecFactory {
	scheme := runtime.NewScheme()
	utilruntime.Must(authenticationv1.AddToScheme(scheme))
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	return serializer.NewCodecFactory(scheme)
})

// Kinds that a token can be bound to, all in API version v1.
var boundObjectKinds = []string{"Pod", "Secret", "Node"}

// BoundObject is the bound object reference of a token: the token stops being
// valid when that object is deleted.
type BoundObject struct {
	Kind string // Pod, Secret or Node; the API version is always v1
	Name string
	UID  string // optional; when set, the server rejects an object of that name with another UID
}

// TokenRequest describes the token to mint for a ServiceAccount.
type TokenRequest struct {
	Namespace      string
	ServiceAccount string
	Audiences      []string // nil or empty means the API server's own audiences
	// ExpirationSeconds is the requested lifetime; 0 means the server default
	// (one hour). The server may grant less, see Token.ExpirationTimestamp.
	ExpirationSeconds int64
	BoundObject       *BoundObject
}

// Token is a minted ServiceAccount token with the evidence needed to place its
// expiry on the local clock.
type Token struct {
	Value               string    // the JWT; never log it
	ExpirationTimestamp time.Time // status.expirationTimestamp: the lifetime the server granted (server clock), in UTC
	ServerNow           time.Time // best evidence of the server clock at issue: the response Date header, else metadata.creationTimestamp if set, else zero
	RequestStart        time.Time // local clock just before the request was sent
}

// RequestToken POSTs an authentication.k8s.io/v1 TokenRequest to
// /api/v1/namespaces/{ns}/serviceaccounts/{name}/token. The deadline of ctx
// bounds the whole call, including an exec plugin of the bootstrap user, plus
// at most cancelGracePeriod while a canceled request returns. It makes one
// attempt and never retries. Failures are *Error values whose exit
// code and message follow the server's response (see requestError).
func (c *Client) RequestToken(ctx context.Context, req TokenRequest) (Token, error) {
	if err := req.validate(); err != nil {
		return Token{}, err
	}

	start := c.clock()
	record := &exchange{}
	ctx = context.WithValue(ctx, exchangeKey{}, record)
	// client-go logs response bodies at verbosity 8 and above through the
	// logger in ctx, and this body carries the minted token. The zero
	// logr.Logger discards everything.
	// NOTE: klog ignores the logger in ctx if klog.EnableContextualLogging(false)
	// was called; the program must leave contextual logging on.
	ctx = klog.NewContext(ctx, klog.Logger{})

	c.debugf(2, "sending TokenRequest for %s via %s", req.describe(), c.describe)
	response, err := c.send(ctx, req, record)
	if err != nil {
		c.relayWarnings(record, c.redact)
		return Token{}, c.requestError(ctx, req, start, err)
	}
	c.relayWarnings(record, c.redact.withSecret(response.Status.Token))

	sent, date := record.snapshot()
	if sent.IsZero() {
		sent = start
	}
	token, err := c.tokenFrom(req, response, sent, date)
	if err != nil {
		return Token{}, err
	}
	c.debugf(2, "TokenRequest for %s/%s granted until %s (server clock at issue %s)",
		req.Namespace, req.ServiceAccount, token.ExpirationTimestamp.Format(time.RFC3339), formatTime(token.ServerNow))
	return token, nil
}

// errCredentialsTimedOut means the deadline passed before the request left,
// so the bootstrap credentials (from an exec plugin or an auth-provider) were
// not ready in time.
var errCredentialsTimedOut = errors.New("timed out while obtaining the bootstrap credentials")

// credentialsError is a failure before the request left: the auth wrappers of
// client-go, which run the exec plugin or the auth-provider, returned err.
type credentialsError struct {
	err error
}

func (e *credentialsError) Error() string {
	return "cannot obtain the bootstrap credentials: " + e.err.Error()
}

func (e *credentialsError) Unwrap() error { return e.err }

// send runs the request in a goroutine, because client-go runs the exec plugin
// of the bootstrap user without a context: a plugin that waits (for a browser
// login, say) would otherwise outlive the deadline. On that timeout the
// goroutine and the plugin are left behind, which is acceptable in a
// short-lived process.
func (c *Client) send(ctx context.Context, req TokenRequest, record *exchange) (*authenticationv1.TokenRequest, error) {
	type outcome struct {
		response *authenticationv1.TokenRequest
		err      error
	}
	done := make(chan outcome, 1)
	go func() {
		response, err := c.post(ctx, req)
		done <- outcome{response, err}
	}()

	select {
	case out := <-done:
		if out.err != nil && !record.wasSent() {
			if ctx.Err() != nil {
				return nil, errCredentialsTimedOut
			}
			return nil, &credentialsError{err: out.err}
		}
		return out.response, out.err
	case <-ctx.Done():
		if !record.wasSent() {
			return nil, errCredentialsTimedOut
		}
		// The request is on the wire, and the transport cancels it with ctx.
		// The grace period covers an exec plugin that client-go runs again,
		// without a context, after a 401 response.
		select {
		case out := <-done:
			return out.response, out.err
		case <-time.After(cancelGracePeriod):
			return nil, fmt.Errorf("request not finished %s after the deadline: %w", cancelGracePeriod, ctx.Err())
		}
	}
}

// cancelGracePeriod is how long send waits for a canceled request to return.
const cancelGracePeriod = time.Second

// post sends one TokenRequest. MaxRetries(0) turns off client-go's retry after
// a Retry-After response, so there is exactly one attempt.
func (c *Client) post(ctx context.Context, req TokenRequest) (*authenticationv1.TokenRequest, error) {
	result := c.rest.Post().
		Namespace(req.Namespace).
		Resource("serviceaccounts").
		Name(req.ServiceAccount).
		SubResource("token").
		Body(req.object()).
		MaxRetries(0).
		Do(ctx)
	if err := result.Error(); err != nil {
		return nil, err
	}

	var statusCode int
	result.StatusCode(&statusCode)
	body, _ := result.Raw()
	return decodeTokenRequest(statusCode, body)
}

var tokenRequestKind = authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")

// decodeTokenRequest decodes a 2xx body. It requires apiVersion and kind,
// which the typed decoder would otherwise fill in from the target type.
func decodeTokenRequest(statusCode int, body []byte) (*authenticationv1.TokenRequest, error) {
	declared, err := serializerjson.DefaultMetaFactory.Interpret(body)
	if err != nil {
		return nil, &malformedResponseError{statusCode: statusCode, err: err}
	}
	if *declared != tokenRequestKind {
		return nil, &malformedResponseError{statusCode: statusCode, err: fmt.Errorf("unexpected apiVersion %q and kind %q", declared.GroupVersion(), declared.Kind)}
	}

	response := &authenticationv1.TokenRequest{}
	if _, _, err := tokenCodecs().UniversalDeserializer().Decode(body, nil, response); err != nil {
		return nil, &malformedResponseError{statusCode: statusCode, err: err}
	}
	return response, nil
}

// malformedResponseError is a 2xx response that is not a TokenRequest. Its
// Error() never includes err's text, because apimachinery decoders quote the
// body ("Object 'Kind' is missing in '...'"), and this body may carry the
// minted token.
type malformedResponseError struct {
	statusCode int
	err        error
}

func (e *malformedResponseError) Error() string {
	return fmt.Sprintf("HTTP %d response is not a valid TokenRequest", e.statusCode)
}

func (e *malformedResponseError) Unwrap() error { return e.err }

// tokenFrom checks the TokenRequest response and converts it to a Token.
func (c *Client) tokenFrom(req TokenRequest, response *authenticationv1.TokenRequest, sent time.Time, date string) (Token, error) {
	redact := c.redact.withSecret(response.Status.Token)
	if strings.TrimSpace(response.Status.Token) == "" {
		return Token{}, &Error{Code: ExitFailure, Message: redact.String(fmt.Sprintf(
			"TokenRequest for %s via %s returned no status.token; check that %s is a Kubernetes API server",
			req.describe(), c.describe, c.server))}
	}
	// A bearer token travels in an HTTP header, where white space and
	// control characters are invalid.
	if strings.IndexFunc(response.Status.Token, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return Token{}, &Error{Code: ExitFailure, Message: redact.String(fmt.Sprintf(
			"TokenRequest for %s via %s returned a status.token with white space or control characters; check that %s is a Kubernetes API server",
			req.describe(), c.describe, c.server))}
	}
	if response.Status.ExpirationTimestamp.IsZero() {
		return Token{}, &Error{Code: ExitFailure, Message: redact.String(fmt.Sprintf(
			"TokenRequest for %s via %s returned no status.expirationTimestamp; check that %s is a Kubernetes API server",
			req.describe(), c.describe, c.server))}
	}

	token := Token{
		Value:               response.Status.Token,
		ExpirationTimestamp: response.Status.ExpirationTimestamp.UTC(),
		RequestStart:        sent,
	}
	if serverTime, err := http.ParseTime(date); err == nil {
		token.ServerNow = serverTime.UTC()
	} else if !response.CreationTimestamp.IsZero() {
		token.ServerNow = response.CreationTimestamp.UTC()
	}
	return token, nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.Format(time.RFC3339)
}

// validate rejects requests that the API server would reject, or that would
// build a wrong URL path, before any network call.
func (r TokenRequest) validate() error {
	if problems := validation.IsDNS1123Label(r.Namespace); len(problems) > 0 {
		return Usagef("invalid namespace %q: %s", r.Namespace, strings.Join(problems, "; "))
	}
	if problems := validation.IsDNS1123Subdomain(r.ServiceAccount); len(problems) > 0 {
		return Usagef("invalid service account name %q: %s", r.ServiceAccount, strings.Join(problems, "; "))
	}
	for _, audience := range r.Audiences {
		if strings.TrimSpace(audience) == "" {
			return Usagef("invalid audience %q: an audience must not be empty", audience)
		}
	}
	// The caller checks the range that the API server accepts (10m to 2^32 s),
	// because it owns the flag. The server's 422 response is the final word.
	if r.ExpirationSeconds < 0 {
		return Usagef("invalid expirationSeconds %d: it must be positive, or 0 for the server default", r.ExpirationSeconds)
	}
	if r.BoundObject != nil {
		return r.BoundObject.validate()
	}
	return nil
}

func (b BoundObject) validate() error {
	known := false
	for _, kind := range boundObjectKinds {
		known = known || b.Kind == kind
	}
	if !known {
		return Usagef("invalid bound object kind %q: use one of %s", b.Kind, strings.Join(boundObjectKinds, ", "))
	}
	if problems := validation.IsDNS1123Subdomain(b.Name); len(problems) > 0 {
		return Usagef("invalid bound object name %q for kind %s: %s", b.Name, b.Kind, strings.Join(problems, "; "))
	}
	return nil
}

// object builds the request body. Empty audiences and a zero expiration are
// left unset (null), so the server applies its defaults.
func (r TokenRequest) object() *authenticationv1.TokenRequest {
	object := &authenticationv1.TokenRequest{}
	if len(r.Audiences) > 0 {
		object.Spec.Audiences = append([]string(nil), r.Audiences...)
	}
	if r.ExpirationSeconds > 0 {
		seconds := r.ExpirationSeconds
		object.Spec.ExpirationSeconds = &seconds
	}
	if b := r.BoundObject; b != nil {
		object.Spec.BoundObjectRef = &authenticationv1.BoundObjectReference{
			Kind:       b.Kind,
			APIVersion: "v1",
			Name:       b.Name,
			UID:        types.UID(b.UID),
		}
	}
	return object
}

// describe names the ServiceAccount and, when set, the bound object.
func (r TokenRequest) describe() string {
	text := r.Namespace + "/" + r.ServiceAccount
	if r.BoundObject != nil {
		text += " bound to " + r.BoundObject.describe(r.Namespace)
	}
	return text
}

// describe names the object as "Pod team-a/web"; a Node has no namespace.
func (b BoundObject) describe(namespace string) string {
	if b.Kind == "Node" {
		return "Node " + b.Name
	}
	return b.Kind + " " + namespace + "/" + b.Name
}
