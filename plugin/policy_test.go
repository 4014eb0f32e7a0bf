package plugin

import (
	"strings"
	"testing"
	"time"

	"github.com/kube-sa-token/kube-sa-token/bootstrap"
	"github.com/kube-sa-token/kube-sa-token/cache"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func entryFor(issued time.Time, lifetime time.Duration) cache.Entry {
	return cache.Entry{Token: "FAKE.JWT.SECRET", IssuedAt: issued, ExpiresAt: issued.Add(lifetime)}
}

func TestPolicyFresh(t *testing.T) {
	tests := []struct {
		name      string
		buffer    time.Duration
		entry     cache.Entry
		now       time.Time
		wantFresh bool
		wantAt    time.Time
	}{
		{"well before refresh", time.Minute, entryFor(t0, time.Hour), t0.Add(30 * time.Minute), true, t0.Add(59 * time.Minute)},
		{"one second before refresh", time.Minute, entryFor(t0, time.Hour), t0.Add(59*time.Minute - time.Second), true, t0.Add(59 * time.Minute)},
		{"at the refresh point", time.Minute, entryFor(t0, time.Hour), t0.Add(59 * time.Minute), false, t0.Add(59 * time.Minute)},
		{"after expiry", time.Minute, entryFor(t0, time.Hour), t0.Add(2 * time.Hour), false, t0.Add(59 * time.Minute)},
		{"zero buffer", 0, entryFor(t0, time.Hour), t0.Add(59 * time.Minute), true, t0.Add(time.Hour)},
		{"buffer above lifetime halves", 20 * time.Minute, entryFor(t0, 10*time.Minute), t0.Add(4 * time.Minute), true, t0.Add(5 * time.Minute)},
		{"halved buffer reached", 20 * time.Minute, entryFor(t0, 10*time.Minute), t0.Add(5 * time.Minute), false, t0.Add(5 * time.Minute)},
		{
			// The refresh point is truncated to the printed second, so the
			// plugin never serves a credential whose printed expiry has passed.
			"sub-second refresh point truncated", time.Minute, entryFor(t0.Add(700*time.Millisecond), time.Hour),
			t0.Add(59*time.Minute + 300*time.Millisecond), false, t0.Add(59 * time.Minute),
		},
		{
			"lifetime above the request is never fresh", time.Minute,
			cache.Entry{Token: "FAKE.JWT.SECRET", Inputs: cache.Inputs{ExpirationSeconds: 3600}, IssuedAt: t0, ExpiresAt: t0.AddDate(7000, 0, 0)},
			t0, false, time.Time{},
		},
		{"empty token is never fresh", time.Minute, cache.Entry{IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}, t0, false, t0.Add(59 * time.Minute)},
		{
			"issued after expiry is never fresh", time.Minute,
			cache.Entry{Token: "FAKE.JWT.SECRET", IssuedAt: t0.AddDate(70, 0, 0), ExpiresAt: t0.AddDate(-1, 0, 0)},
			t0, false, time.Time{}, // a damaged entry has no meaningful refresh point
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{RefreshBuffer: tt.buffer}
			if got := p.Fresh(tt.entry, tt.now); got != tt.wantFresh {
				t.Errorf("Fresh() = %t, want %t", got, tt.wantFresh)
			}
			if got := p.RefreshAt(tt.entry); !tt.wantAt.IsZero() && !got.Equal(tt.wantAt) {
				t.Errorf("RefreshAt() = %s, want %s", got, tt.wantAt)
			}
		})
	}
}

func TestLocalExpirySkew(t *testing.T) {
	granted := 24 * time.Hour
	tests := []struct {
		name       string
		serverNow  time.Time // zero: no server time known
		localStart time.Time
		received   time.Time
		wantIssued time.Time
		wantExpiry time.Time
	}{
		{
			name:       "clocks agree",
			serverNow:  t0,
			localStart: t0,
			received:   t0.Add(50 * time.Millisecond),
			wantIssued: t0,
			wantExpiry: t0.Add(granted - time.Second),
		},
		{
			name:       "local clock two hours behind",
			serverNow:  t0,
			localStart: t0.Add(-2 * time.Hour),
			received:   t0.Add(-2 * time.Hour),
			wantIssued: t0.Add(-2 * time.Hour),
			wantExpiry: t0.Add(-2*time.Hour + granted - time.Second),
		},
		{
			name:       "local clock three years ahead",
			serverNow:  t0,
			localStart: t0.AddDate(3, 0, 0),
			received:   t0.AddDate(3, 0, 0),
			wantIssued: t0.AddDate(3, 0, 0),
			wantExpiry: t0.AddDate(3, 0, 0).Add(granted - time.Second),
		},
		{
			name:       "stale Date header capped at the request",
			serverNow:  time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC),
			localStart: t0,
			received:   t0,
			wantIssued: t0,
			wantExpiry: t0.Add(granted),
		},
		{
			name:       "server time past the expiry falls back to local",
			serverNow:  t0.Add(granted + time.Hour),
			localStart: t0,
			received:   t0.Add(time.Second),
			wantIssued: t0.Add(time.Second),
			wantExpiry: t0.Add(granted),
		},
		{
			name:       "no server time assumes agreement",
			localStart: t0,
			received:   t0.Add(time.Second),
			wantIssued: t0.Add(time.Second),
			wantExpiry: t0.Add(granted),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := bootstrap.Token{
				Value:               "FAKE.JWT.SECRET",
				ExpirationTimestamp: t0.Add(granted),
				ServerNow:           tt.serverNow,
				RequestStart:        tt.localStart,
			}
			issued, expiry, err := localExpiry(tok, tt.received, int64(granted/time.Second))
			if err != nil {
				t.Fatalf("localExpiry() error: %v", err)
			}
			if !issued.Equal(tt.wantIssued) {
				t.Errorf("issuedAt = %s, want %s", issued, tt.wantIssued)
			}
			if !expiry.Equal(tt.wantExpiry) {
				t.Errorf("expiresAt = %s, want %s", expiry, tt.wantExpiry)
			}
		})
	}
}

func TestLocalExpiryRejectsExpiredToken(t *testing.T) {
	tok := bootstrap.Token{ExpirationTimestamp: t0, ServerNow: t0.Add(time.Minute), RequestStart: t0}
	_, _, err := localExpiry(tok, t0, 3600)
	if err == nil || !strings.Contains(err.Error(), "already expired") {
		t.Fatalf("localExpiry() error = %v, want an already-expired error", err)
	}
}
