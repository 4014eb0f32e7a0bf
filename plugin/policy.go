package plugin

import (
	"fmt"
	"math"
	"time"

	"github.com/kube-sa-token/kube-sa-token/bootstrap"
	"github.com/kube-sa-token/kube-sa-token/cache"
)

// dateResolution is the precision of the server's clock readings: the HTTP
// Date header and metadata.creationTimestamp both carry whole seconds.
const dateResolution = time.Second

// Policy decides when a token is due for refresh. The printed
// expirationTimestamp and the cache-hit test use the same instant, so
// client-go re-runs the plugin exactly when the plugin would mint anew.
type Policy struct {
	// RefreshBuffer is how long before the token's expiry a new one is minted.
	RefreshBuffer time.Duration
}

// buffer returns the refresh buffer for e. When the server granted a lifetime
// no longer than the configured buffer, refreshing at half the lifetime keeps
// the printed expirationTimestamp in the future.
func (p Policy) buffer(e cache.Entry) time.Duration {
	lifetime := e.ExpiresAt.Sub(e.IssuedAt)
	if p.RefreshBuffer >= lifetime {
		return lifetime / 2
	}
	return p.RefreshBuffer
}

// RefreshAt returns the instant from which e is no longer served, truncated to
// the second because ExecCredential timestamps carry whole seconds.
func (p Policy) RefreshAt(e cache.Entry) time.Time {
	return e.ExpiresAt.Add(-p.buffer(e)).Truncate(time.Second)
}

// Fresh reports whether e may be served at now. An entry whose issue time
// is not before its expiry, or whose lifetime exceeds the expirationSeconds
// it was requested with, is damaged, whatever its expiresAt field contains.
func (p Policy) Fresh(e cache.Entry, now time.Time) bool {
	lifetime := e.ExpiresAt.Sub(e.IssuedAt)
	if e.Token == "" || lifetime <= 0 || lifetime > requestedLifetime(e.Inputs.ExpirationSeconds) {
		return false
	}
	return now.Before(p.RefreshAt(e))
}

// requestedLifetime converts expirationSeconds to a duration. Zero, which no
// valid request has, leaves the lifetime unbounded.
func requestedLifetime(expirationSeconds int64) time.Duration {
	if expirationSeconds <= 0 {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(expirationSeconds) * time.Second
}

// Shortened reports whether the server granted a lifetime no longer than the
// configured refresh buffer, so refreshes happen at half the lifetime.
func (p Policy) Shortened(e cache.Entry) bool {
	return p.buffer(e) != p.RefreshBuffer
}

// localExpiry converts the server-granted expiry of tok into the local clock.
// The lifetime is measured on the server's clock (expirationTimestamp minus
// the server's own time at issue) and added to the local time at which the
// request was sent, so a skewed local clock neither shortens nor extends it.
// One second is taken off for the whole-second resolution of the server time.
// Without a usable server time, the clocks are assumed to agree.
//
// The lifetime never exceeds the requested expirationSeconds, because a
// server time that lags (a stale Date header from a proxy, say) would
// otherwise keep a dead token cached. Refreshing early is harmless.
func localExpiry(tok bootstrap.Token, receivedAt time.Time, expirationSeconds int64) (issuedAt, expiresAt time.Time, err error) {
	lifetime := tok.ExpirationTimestamp.Sub(tok.ServerNow) - dateResolution
	issuedAt = tok.RequestStart
	if tok.ServerNow.IsZero() || lifetime <= 0 {
		// No server time, or one that runs ahead of the expiry it granted.
		lifetime = tok.ExpirationTimestamp.Sub(receivedAt)
		issuedAt = receivedAt
	}
	lifetime = min(lifetime, requestedLifetime(expirationSeconds))
	if lifetime <= 0 {
		return time.Time{}, time.Time{}, fmt.Errorf("the API server returned a token that is already expired (expirationTimestamp %s)", tok.ExpirationTimestamp.UTC().Format(time.RFC3339))
	}
	return issuedAt, issuedAt.Add(lifetime), nil
}
