package bootstrap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// requestError maps a failed TokenRequest to an *Error with an exit code and
// a message that names the bootstrap source, namespace/serviceaccount and the
// fix. The messages for 400, 404 and 409 follow what the API server's
// TokenRequest handler returns (pkg/registry/core/serviceaccount/storage/token.go
// in Kubernetes v1.37):
//   - a missing ServiceAccount or bound object: 404 with details.kind
//     "serviceaccounts", "pods", "secrets" or "nodes";
//   - a bound Pod running as another ServiceAccount, an unsupported bound
//     kind, or Node binding turned off: 400 Bad Request;
//   - a bound object UID that does not match: 409 Conflict;
//   - a field outside its range, such as spec.expirationSeconds: 422 Invalid.
func (c *Client) requestError(ctx context.Context, req TokenRequest, start time.Time, err error) *Error {
	var malformed *malformedResponseError
	if errors.As(err, &malformed) {
		return c.newError(ExitFailure, err, "TokenRequest for %s via %s failed: the %s; check that %s is a Kubernetes API server",
			req.describe(), c.describe, malformed.Error(), c.server)
	}

	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return c.statusError(req, status.Status(), apierrors.IsUnexpectedServerError(err), err)
	}
	return c.transportError(ctx, req, start, err)
}

// statusError maps an HTTP error response. serverMessage is dropped when the body
// was not a Status object, because then it is raw body text.
func (c *Client) statusError(req TokenRequest, status metav1.Status, unstructured bool, err error) *Error {
	serverMessage := c.redact.String(status.Message)
	if unstructured {
		serverMessage = http.StatusText(int(status.Code))
	}
	failure := statusFailure{req: req, status: status, serverMessage: serverMessage, unstructured: unstructured, err: err}

	switch status.Code {
	case http.StatusUnauthorized:
		return c.unauthorizedError(failure)
	case http.StatusForbidden:
		return c.forbiddenError(failure)
	case http.StatusNotFound:
		return c.notFoundError(failure)
	case http.StatusBadRequest:
		return c.badRequestError(failure)
	case http.StatusConflict:
		return c.conflictError(failure)
	case http.StatusUnprocessableEntity:
		return c.invalidError(failure)
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		// A proxy or load balancer in front of the API server returns these
		// when it cannot reach the API server.
		return c.newError(ExitUnreachable, err, "TokenRequest for %s via %s failed with HTTP %d %s: %s; the API server behind %s is unavailable, so try again later",
			req.describe(), c.describe, status.Code, http.StatusText(int(status.Code)), serverMessage, c.server)
	default:
		return c.newError(ExitFailure, err, "TokenRequest for %s via %s failed with HTTP %d %s: %s",
			req.describe(), c.describe, status.Code, http.StatusText(int(status.Code)), serverMessage)
	}
}

// statusFailure is one HTTP error response to a TokenRequest.
type statusFailure struct {
	req           TokenRequest
	status        metav1.Status
	serverMessage string // redacted; the status text when the body was not a Status
	unstructured  bool   // the body was not a Status, so details were made up by client-go
	err           error
}

// detailsKind returns status.details.kind, which for a NotFound response is the
// resource, such as "serviceaccounts" or "pods".
func (f statusFailure) detailsKind() string {
	if f.unstructured || f.status.Details == nil {
		return ""
	}
	return f.status.Details.Kind
}

func (f statusFailure) detailsName() string {
	if f.status.Details == nil {
		return ""
	}
	return f.status.Details.Name
}

func (c *Client) unauthorizedError(f statusFailure) *Error {
	return c.newError(ExitUnauthorized, f.err, "bootstrap credentials rejected (401 Unauthorized) for %s: %s; %s",
		c.describe, f.serverMessage, c.renewCredentialsHint())
}

func (c *Client) renewCredentialsHint() string {
	switch c.mode {
	case ModeServer:
		return fmt.Sprintf("put a valid token into %s or %s", flagTokenFile, TokenEnv)
	case ModeInCluster:
		return "check that the pod's ServiceAccount token is mounted and that the ServiceAccount still exists"
	default:
		return fmt.Sprintf("renew the credentials of user %q in the bootstrap kubeconfig (log in again, or replace the expired token or certificate), or pick another context with %s",
			c.user, flagContext)
	}
}

// forbiddenUserPattern finds the user in the API server's RBAC denial, such as
// `User "system:serviceaccount:ops:minter" cannot create resource ...`.
var forbiddenUserPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`User "([^"]+)" cannot`) })

const serviceAccountUserPrefix = "system:serviceaccount:"

// anonymousUsers are the user names the API server gives a request without
// accepted credentials. Granting them anything would let anyone mint tokens.
var anonymousUsers = map[string]bool{"system:anonymous": true, "system:unauthenticated": true}

func (c *Client) forbiddenError(f statusFailure) *Error {
	req := f.req
	if match := forbiddenUserPattern().FindStringSubmatch(f.status.Message); match != nil && anonymousUsers[match[1]] {
		return c.newError(ExitUnauthorized, f.err, "the API server treated the TokenRequest from %s as anonymous (%s): the bootstrap credentials were not sent or not recognized; %s. Do not grant %s any permission: anyone could then mint tokens",
			c.describe, match[1], c.renewCredentialsHint(), match[1])
	}

	var message strings.Builder
	fmt.Fprintf(&message, "the bootstrap identity of %s may not create tokens for service account %s/%s (403 Forbidden): %s\n",
		c.describe, req.Namespace, req.ServiceAccount, f.serverMessage)
	fmt.Fprintf(&message, "Missing permission: verb \"create\" on resource \"serviceaccounts/token\" in namespace %q, resourceName %q.\n",
		req.Namespace, req.ServiceAccount)
	message.WriteString(rbacGrantHint(req.Namespace, req.ServiceAccount, f.status.Message))
	return &Error{Code: ExitForbidden, Err: f.err, Message: c.redact.String(message.String())}
}

// rbacGrantHint returns kubectl commands that create a Role and a RoleBinding
// granting the user named in serverMessage the right to mint tokens for one
// ServiceAccount. When no user can be parsed, the subject is a placeholder.
func rbacGrantHint(namespace, serviceAccount, serverMessage string) string {
	role := programName + "-" + serviceAccount
	subject := "--user=BOOTSTRAP_USER"
	note := "Replace BOOTSTRAP_USER with the user name of the bootstrap identity (kubectl auth whoami shows it).\n"
	if match := forbiddenUserPattern().FindStringSubmatch(serverMessage); match != nil {
		user := match[1]
		note = ""
		subject = "--user=" + shellQuote(user)
		if account, ok := strings.CutPrefix(user, serviceAccountUserPrefix); ok && strings.Count(account, ":") == 1 {
			subject = "--serviceaccount=" + shellQuote(account)
		}
	}

	var hint strings.Builder
	hint.WriteString("A cluster administrator can grant it with:\n")
	fmt.Fprintf(&hint, "  kubectl create role %s --verb=create --resource=serviceaccounts/token --resource-name=%s -n %s\n",
		role, serviceAccount, namespace)
	fmt.Fprintf(&hint, "  kubectl create rolebinding %s --role=%s %s -n %s\n", role, role, subject, namespace)
	hint.WriteString(note)
	return strings.TrimSuffix(hint.String(), "\n")
}

var shellSafePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`) })

// shellQuote quotes value for a POSIX shell unless it is made of safe characters.
func shellQuote(value string) string {
	if shellSafePattern().MatchString(value) {
		return value
	}
	return "'" + strings.ReplaceAll(value, "'", `'\''`) + "'"
}

func (c *Client) notFoundError(f statusFailure) *Error {
	req := f.req
	switch kind := f.detailsKind(); {
	case kind == "serviceaccounts":
		return c.newError(ExitNotFound, f.err, "service account %s/%s not found (404) via %s: check the namespace and name, or create it with: kubectl create serviceaccount %s -n %s",
			req.Namespace, req.ServiceAccount, c.describe, req.ServiceAccount, req.Namespace)
	case boundResourceKinds[kind] != "":
		object := BoundObject{Kind: boundResourceKinds[kind], Name: f.detailsName()}
		return c.newError(ExitNotFound, f.err, "bound object %s not found (404) via %s: bind the token to an existing object",
			object.describe(req.Namespace), c.describe)
	default:
		return c.newError(ExitNotFound, f.err, "TokenRequest for %s via %s failed with 404 Not Found: %s; check that %s is a Kubernetes API server",
			req.describe(), c.describe, f.serverMessage, c.server)
	}
}

// boundResourceKinds maps the resource in a NotFound response to the kind of the
// bound object reference.
var boundResourceKinds = map[string]string{"pods": "Pod", "secrets": "Secret", "nodes": "Node"}

func (c *Client) badRequestError(f statusFailure) *Error {
	req := f.req
	message := f.status.Message
	switch {
	case req.BoundObject != nil && strings.Contains(message, "to pod running with different serviceaccount name"):
		return c.newError(ExitUsage, f.err, "bound object %s runs as another service account than %s (400 Bad Request via %s): bind the token to a pod whose spec.serviceAccountName is %q",
			req.BoundObject.describe(req.Namespace), req.ServiceAccount, c.describe, req.ServiceAccount)
	case req.BoundObject != nil && strings.Contains(message, "cannot bind token to"):
		return c.newError(ExitUsage, f.err, "the API server cannot bind a token to %s (400 Bad Request via %s): %s; bind it to another kind of object (%s) that the server supports",
			req.BoundObject.describe(req.Namespace), c.describe, f.serverMessage, strings.Join(boundObjectKinds, ", "))
	default:
		return c.newError(ExitUsage, f.err, "TokenRequest for %s via %s rejected (400 Bad Request): %s",
			req.describe(), c.describe, f.serverMessage)
	}
}

func (c *Client) conflictError(f statusFailure) *Error {
	req := f.req
	if b := req.BoundObject; b != nil && b.UID != "" && strings.Contains(f.status.Message, "does not match the UID in record") {
		return c.newError(ExitUsage, f.err, "bound object %s has another UID than the requested %s (409 Conflict via %s): the object was probably deleted and created again; pass its current UID or leave the UID out",
			b.describe(req.Namespace), b.UID, c.describe)
	}
	return c.newError(ExitFailure, f.err, "TokenRequest for %s via %s failed with 409 Conflict: %s",
		req.describe(), c.describe, f.serverMessage)
}

func (c *Client) invalidError(f statusFailure) *Error {
	var causes []string
	if f.status.Details != nil {
		for _, cause := range f.status.Details.Causes {
			causes = append(causes, fmt.Sprintf("  %s: %s", cause.Field, cause.Message))
		}
	}
	if len(causes) == 0 {
		causes = []string{"  " + f.serverMessage}
	}
	return c.newError(ExitUsage, f.err, "TokenRequest for %s via %s is invalid (422 Unprocessable Entity):\n%s\nFix the fields above and try again.",
		f.req.describe(), c.describe, strings.Join(causes, "\n"))
}

// transportError maps a failure without an HTTP response: credentials not ready,
// a timeout, a TLS verification failure or an unreachable server.
func (c *Client) transportError(ctx context.Context, req TokenRequest, start time.Time, err error) *Error {
	cause := c.redact.errorText(err)
	timeout := c.describeTimeout(ctx, start)

	var credentials *credentialsError
	var redirect *redirectError
	switch {
	case errors.As(err, &redirect):
		return c.newError(ExitFailure, err, "%s via %s: kube-sa-token does not follow redirects, so that the bootstrap credentials reach only %s; point the bootstrap identity at the API server itself",
			redirect.Error(), c.describe, c.server)
	case errors.Is(err, errCredentialsTimedOut) && c.mode == ModeKubeconfig:
		return c.newError(ExitUnreachable, err, "timed out (%s) while obtaining the bootstrap credentials of %s: its exec plugin or auth-provider did not finish; run it by hand to see whether it waits for input (kube-sa-token gives it no terminal), or raise --timeout",
			timeout, c.describe)
	case errors.Is(err, errCredentialsTimedOut):
		return c.newError(ExitUnreachable, err, "timed out (%s) before the TokenRequest to %s was sent; raise --timeout",
			timeout, c.describe)
	case errors.As(err, &credentials):
		return c.newError(ExitFailure, err, "cannot obtain the bootstrap credentials of %s: %s; %s",
			c.describe, c.redact.errorText(credentials.err), c.renewCredentialsHint())
	}

	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalidCertificate x509.CertificateInvalidError
	var netError net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netError) && netError.Timeout()):
		return c.newError(ExitUnreachable, err, "TokenRequest for %s via %s timed out (%s): check that the API server is reachable, or raise --timeout",
			req.describe(), c.describe, timeout)
	case errors.Is(err, context.Canceled):
		return c.newError(ExitFailure, err, "TokenRequest for %s via %s was canceled", req.describe(), c.describe)
	case errors.As(err, &unknownAuthority):
		return c.newError(ExitUnreachable, err, "cannot verify the TLS certificate of the API server (%s): %s; check the CA: %s",
			c.describe, cause, c.caHint())
	case errors.As(err, &hostname):
		return c.newError(ExitUnreachable, err, "the TLS certificate of the API server does not match its host name (%s): %s; use a server URL whose host the certificate names",
			c.describe, cause)
	case errors.As(err, &invalidCertificate):
		return c.newError(ExitUnreachable, err, "the TLS certificate of the API server is not valid (%s): %s; check the certificate's dates and the CA: %s",
			c.describe, cause, c.caHint())
	case isNetworkError(err):
		return c.newError(ExitUnreachable, err, "cannot reach the API server (%s): %s; check the server URL and the network",
			c.describe, cause)
	default:
		return c.newError(ExitFailure, err, "TokenRequest for %s via %s failed: %s",
			req.describe(), c.describe, cause)
	}
}

func (c *Client) caHint() string {
	switch c.mode {
	case ModeServer:
		return fmt.Sprintf("%s must contain the CA that signed the API server's certificate", flagCAFile)
	case ModeInCluster:
		return "the mounted ca.crt must contain the CA that signed the API server's certificate"
	default:
		return "certificate-authority or certificate-authority-data of the cluster in the bootstrap kubeconfig must contain the CA that signed the API server's certificate"
	}
}

// isNetworkError reports a failure to connect or a broken connection: DNS,
// connection refused or reset, and TLS handshake failures.
func isNetworkError(err error) bool {
	var opError *net.OpError
	var dnsError *net.DNSError
	var recordHeaderError tls.RecordHeaderError
	var alertError tls.AlertError
	return errors.As(err, &opError) ||
		errors.As(err, &dnsError) ||
		errors.As(err, &recordHeaderError) ||
		errors.As(err, &alertError) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// describeTimeout names the limit that expired: the --timeout of the run when
// known, else the deadline of ctx counted from start, else the time spent.
func (c *Client) describeTimeout(ctx context.Context, start time.Time) string {
	if c.timeout > 0 {
		return "--timeout " + c.timeout.String()
	}
	if deadline, ok := ctx.Deadline(); ok {
		return "after " + deadline.Sub(start).Round(time.Millisecond).String()
	}
	return "after " + c.clock().Sub(start).Round(time.Millisecond).String()
}

// newError formats a message, redacts it and wraps err.
func (c *Client) newError(code int, err error, format string, args ...any) *Error {
	return &Error{Code: code, Err: err, Message: c.redact.String(fmt.Sprintf(format, args...))}
}
