package plugin

import (
	"fmt"
	"math"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kube-sa-token/kube-sa-token/bootstrap"
)

// Limits on expirationSeconds that the API server enforces: a TokenRequest
// asking for less than ten minutes or more than 2^32 seconds is rejected as
// invalid.
const (
	MinExpiration = 10 * time.Minute
	MaxExpiration = time.Duration(math.MaxUint32+1) * time.Second
)

// MaxTimeout bounds --timeout: client-go waits for the plugin without a limit
// of its own, so a longer deadline only hides a hung call.
const MaxTimeout = time.Hour

// BoundObjectKinds lists the kinds a token can be bound to.
var BoundObjectKinds = []string{"Pod", "Secret", "Node"}

// Config is everything one `token` invocation needs, as parsed from flags and
// the environment.
type Config struct {
	Bootstrap bootstrap.Options
	Request   bootstrap.TokenRequest

	// Expiration is the requested token lifetime; Request.ExpirationSeconds
	// is derived from it by Validate.
	Expiration time.Duration

	CacheDir      string // --cache-dir; empty means the environment and XDG defaults
	NoCache       bool
	RefreshBuffer time.Duration

	// DefaultAPIVersion is printed when KUBERNETES_EXEC_INFO is unset or empty.
	DefaultAPIVersion string

	// Timeout bounds the whole invocation, lock waits and HTTP included.
	Timeout time.Duration
}

// Validate checks every flag value that can be checked without the network
// and fills Request.ExpirationSeconds. Its errors have exit code 2.
func (c *Config) Validate() error {
	req := &c.Request
	if req.Namespace == "" {
		return bootstrap.Usagef("missing --namespace: name the namespace of the ServiceAccount")
	}
	if errs := validation.IsDNS1123Label(req.Namespace); len(errs) > 0 {
		return bootstrap.Usagef("invalid --namespace %q: %s", req.Namespace, strings.Join(errs, "; "))
	}
	if req.ServiceAccount == "" {
		return bootstrap.Usagef("missing --service-account: name the ServiceAccount to mint a token for")
	}
	if errs := validation.IsDNS1123Subdomain(req.ServiceAccount); len(errs) > 0 {
		return bootstrap.Usagef("invalid --service-account %q: %s", req.ServiceAccount, strings.Join(errs, "; "))
	}

	for _, a := range req.Audiences {
		if strings.TrimSpace(a) == "" {
			return bootstrap.Usagef("invalid --audience %q: an audience must not be empty; leave --audience out to get the API server's audiences", a)
		}
	}

	if err := c.validateExpiration(); err != nil {
		return err
	}
	if err := c.validateBoundObject(); err != nil {
		return err
	}
	if c.RefreshBuffer < 0 || c.RefreshBuffer >= c.Expiration {
		return bootstrap.Usagef("invalid --refresh-buffer %s: it must be at least 0 and shorter than --expiration %s", c.RefreshBuffer, c.Expiration)
	}

	if err := CheckAPIVersion(c.DefaultAPIVersion); err != nil {
		return bootstrap.Usagef("invalid --api-version: %v", err)
	}
	if c.Timeout <= 0 || c.Timeout > MaxTimeout {
		return bootstrap.Usagef("invalid --timeout %s: use a positive duration up to %s, for example 30s", c.Timeout, MaxTimeout)
	}
	return c.Bootstrap.Validate()
}

func (c *Config) validateExpiration() error {
	d := c.Expiration
	if d < MinExpiration || d > MaxExpiration {
		return bootstrap.Usagef("invalid --expiration %s: the API server accepts from %s to %d seconds (2^32); for example --expiration 1h", d, MinExpiration, int64(MaxExpiration/time.Second))
	}
	if d%time.Second != 0 {
		return bootstrap.Usagef("invalid --expiration %s: it must be a whole number of seconds", d)
	}
	c.Request.ExpirationSeconds = int64(d / time.Second)
	return nil
}

func (c *Config) validateBoundObject() error {
	b := c.Request.BoundObject
	if b == nil {
		return nil
	}
	if b.Kind == "" {
		return bootstrap.Usagef("missing --bound-object-kind: --bound-object-name and --bound-object-uid need one of %s", strings.Join(BoundObjectKinds, ", "))
	}
	known := false
	for _, k := range BoundObjectKinds {
		if b.Kind == k {
			known = true
		}
	}
	if !known {
		return bootstrap.Usagef("invalid --bound-object-kind %q: use one of %s", b.Kind, strings.Join(BoundObjectKinds, ", "))
	}
	if b.Name == "" {
		return bootstrap.Usagef("missing --bound-object-name: --bound-object-kind %s needs the name of the object", b.Kind)
	}
	if errs := validation.IsDNS1123Subdomain(b.Name); len(errs) > 0 {
		return bootstrap.Usagef("invalid --bound-object-name %q: %s", b.Name, strings.Join(errs, "; "))
	}
	return nil
}

// describeRequest names the ServiceAccount and token shape for logs.
func describeRequest(r bootstrap.TokenRequest) string {
	s := fmt.Sprintf("%s/%s (expirationSeconds %d", r.Namespace, r.ServiceAccount, r.ExpirationSeconds)
	if len(r.Audiences) > 0 {
		s += ", audiences " + strings.Join(r.Audiences, ",")
	}
	if b := r.BoundObject; b != nil {
		s += ", bound to " + b.Kind + " " + b.Name
	}
	return s + ")"
}
