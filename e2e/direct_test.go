package e2e

import (
	"slices"
	"testing"
	"time"
)

// TestDirectRunOutput runs the plugin as client-go would, at the highest verbosity, and
// checks the ExecCredential on stdout and that stderr never shows the token: on the run
// that mints it and on the run that reads it from the cache.
// expiryTolerance is how much earlier than the token's exp claim minus the refresh buffer
// the printed expirationTimestamp may be: one second of Date header resolution, one of
// truncation, and one for a slow request.
const expiryTolerance = 3 * time.Second

func TestDirectRunOutput(t *testing.T) {
	const (
		expiration    = 30 * time.Minute
		refreshBuffer = 2 * time.Minute
	)
	tests := []struct {
		name       string
		apiVersion string
	}{
		{name: "v1", apiVersion: execV1},
		{name: "v1beta1", apiVersion: execV1beta1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTenant(t, nil)
			args := tn.pluginArgs("--audience", "vault", "--audience", "e2e-second",
				"--expiration", expiration.String(), "--refresh-buffer", refreshBuffer.String(), "-v", "10")
			environment := []string{execInfo(t, tt.apiVersion)}

			before := tokenRequestCount(t)
			minted := runPlugin(t, environment, args...)
			if minted.exitCode != exitOK {
				t.Fatalf("first run: %s", minted)
			}
			cached := runPlugin(t, environment, args...)
			if cached.exitCode != exitOK {
				t.Fatalf("second run: %s", cached)
			}
			if got := waitForTokenRequests(t, before+1) - before; got != 1 {
				t.Errorf("two runs caused %v TokenRequests, want 1", got)
			}

			first := decodeExecCredential(t, minted.stdout)
			second := decodeExecCredential(t, cached.stdout)
			token := first.Status.Token
			if second.Status.Token != token {
				t.Errorf("second run printed a different token, want the cached one")
			}
			for _, credential := range []struct {
				run        string
				apiVersion string
			}{{"first", first.APIVersion}, {"second", second.APIVersion}} {
				if credential.apiVersion != tt.apiVersion {
					t.Errorf("%s run apiVersion = %q, want %q", credential.run, credential.apiVersion, tt.apiVersion)
				}
			}
			assertNoTokenIn(t, "stderr of the minting run", minted.stderr, token)
			assertNoTokenIn(t, "stderr of the cached run", cached.stderr, token)
			if minted.stderr == "" {
				t.Errorf("stderr of the minting run at -v 10 is empty, want log lines to check")
			}

			claims := decodeClaims(t, token)
			if !slices.Equal(claims.Audience, []string{"vault", "e2e-second"}) {
				t.Errorf("token audiences = %v, want [vault e2e-second]", claims.Audience)
			}
			if got := time.Duration(claims.Expiry-claims.IssuedAt) * time.Second; got != expiration {
				t.Errorf("token lifetime = %s, want %s", got, expiration)
			}
			if first.Status.ExpirationTimestamp == nil {
				t.Fatalf("status.expirationTimestamp missing")
			}
			// The plugin measures the lifetime on the API server's clock, whose Date header has
			// whole-second resolution, and counts it from when it sent the request, so the
			// printed time may be a little early but never late.
			printed := first.Status.ExpirationTimestamp.Time
			latest := time.Unix(claims.Expiry, 0).Add(-refreshBuffer)
			earliest := latest.Add(-expiryTolerance)
			if printed.After(latest) || printed.Before(earliest) {
				t.Errorf("expirationTimestamp = %s, want token expiry minus refresh buffer = %s, "+
					"or up to %s earlier", printed.UTC().Format(time.RFC3339),
					latest.UTC().Format(time.RFC3339), expiryTolerance)
			}
		})
	}
}
