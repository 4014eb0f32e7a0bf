package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"time"

	"github.com/kube-sa-token/kube-sa-token/bootstrap"
	"github.com/kube-sa-token/kube-sa-token/cache"
)

// cacheDirEnv names the cache directory when --cache-dir is not given.
const cacheDirEnv = "KUBE_SA_TOKEN_CACHE_DIR"

// pruneGrace is how long an expired cache entry is kept before the miss path
// deletes it, so `cache list` can still show recently expired entries.
const pruneGrace = 24 * time.Hour

// Runner serves one `token` invocation. Its fields are the process's edges,
// so tests replace them.
type Runner struct {
	Config Config

	Stdout io.Writer
	Log    *Logger
	// Secrets receives every secret the runner learns, for redaction.
	Secrets *Redactor
	Getenv  func(string) string
	Now     func() time.Time
	// BeforeOutput, when set, is called with the token just before the
	// ExecCredential is encoded. Tests use it to inject failures.
	BeforeOutput func(token string)

	store            *cache.Store
	cacheWarning     bool
	untrustedWarning bool
}

// Run prints one ExecCredential on r.Stdout or returns an error; on error
// nothing was written to r.Stdout.
func (r *Runner) Run(ctx context.Context) error {
	if err := bootstrap.CheckRecursion(r.Getenv); err != nil {
		return err
	}
	if err := r.Config.Validate(); err != nil {
		return err
	}

	info, err := ParseExecInfo(r.Getenv(ExecInfoEnv), r.Config.DefaultAPIVersion)
	if err != nil {
		return err
	}
	r.Log.Logf(4, "exec info: apiVersion %s, interactive %t, cluster server %q", info.APIVersion, info.Interactive, info.ClusterServer)
	r.Secrets.AddSecret(r.Config.Bootstrap.Token)

	inputs, err := r.cacheInputs(info)
	if err != nil {
		return err
	}
	entry, err := r.token(ctx, inputs)
	if err != nil {
		return err
	}

	if r.BeforeOutput != nil {
		r.BeforeOutput(entry.Token)
	}
	policy := Policy{RefreshBuffer: r.Config.RefreshBuffer}
	out, err := EncodeCredential(info.APIVersion, entry.Token, policy.RefreshAt(entry))
	if err != nil {
		return err
	}
	return writeAll(r.Stdout, out)
}

// cacheInputs computes the cache key inputs from the flags and a cheap
// fingerprint of the bootstrap identity; it parses no kubeconfig.
func (r *Runner) cacheInputs(info ExecInfo) (cache.Inputs, error) {
	id, err := r.Config.Bootstrap.Identity()
	if err != nil {
		return cache.Inputs{}, err
	}

	req := r.Config.Request
	in := cache.Inputs{
		BootstrapSource:   id.Source,
		BootstrapServer:   id.Server,
		BootstrapCA:       id.CA,
		BootstrapIdentity: id.ID,
		Namespace:         req.Namespace,
		ServiceAccount:    req.ServiceAccount,
		Audiences:         sortedCopy(req.Audiences),
		ExpirationSeconds: req.ExpirationSeconds,
		ClusterServer:     info.ClusterServer,
	}
	if b := req.BoundObject; b != nil {
		in.BoundObjectKind, in.BoundObjectName, in.BoundObjectUID = b.Kind, b.Name, b.UID
	}
	return in, nil
}

// token returns a fresh token for inputs: from the cache when an entry is
// fresh, otherwise minted under the per-key lock so that concurrent processes
// for one key send a single TokenRequest.
func (r *Runner) token(ctx context.Context, inputs cache.Inputs) (cache.Entry, error) {
	policy := Policy{RefreshBuffer: r.Config.RefreshBuffer}
	key := inputs.Key()

	store, err := r.openStore()
	if err != nil {
		return cache.Entry{}, err
	}
	if store == nil {
		return r.mint(ctx, inputs)
	}
	if e, ok := r.lookup(store, key, policy); ok {
		r.Log.Logf(2, "cache hit %s", r.entryPath(key))
		return e, nil
	}

	unlock, err := store.Lock(ctx, key)
	switch {
	case err == nil:
		defer unlock()
	case ctx.Err() != nil:
		return cache.Entry{}, &bootstrap.Error{
			Code: bootstrap.ExitUnreachable,
			Err:  err,
			Message: fmt.Sprintf("timed out (--timeout %s) waiting for the cache lock %s, which other kube-sa-token processes held while requesting a token for the same ServiceAccount; raise --timeout, or run once with -v 1 to see why those requests are slow or failing",
				r.Config.Timeout, filepath.Join(store.Dir(), key+".lock")),
		}
	default:
		r.disableCache(err, "remove that file or make the cache directory writable")
		return r.mint(ctx, inputs)
	}

	// Another process may have minted while this one waited for the lock.
	if e, ok := r.lookup(store, key, policy); ok {
		r.Log.Logf(2, "cache hit after waiting for the lock %s", r.entryPath(key))
		return e, nil
	}

	e, err := r.mint(ctx, inputs)
	if err != nil {
		return cache.Entry{}, err
	}
	if err := store.Put(key, e); err != nil {
		r.disableCache(err, "make the cache directory writable")
	} else {
		r.Log.Logf(2, "cached the token in %s", r.entryPath(key))
	}
	if n, err := store.Prune(r.Now(), pruneGrace); err != nil {
		r.Log.Logf(3, "pruning expired cache entries: %v", err)
	} else if n > 0 {
		r.Log.Logf(3, "pruned %d expired cache entries", n)
	}
	return e, nil
}

// openStore resolves the cache directory. It returns nil when caching is off,
// and a usage error for a relative directory given on purpose, which would
// depend on the working directory of kubectl.
func (r *Runner) openStore() (*cache.Store, error) {
	if r.Config.NoCache {
		return nil, nil
	}
	if d := r.Config.CacheDir; d != "" && !filepath.IsAbs(d) {
		return nil, bootstrap.Usagef("invalid --cache-dir %q: use an absolute path", d)
	}
	if d := r.Getenv(cacheDirEnv); r.Config.CacheDir == "" && d != "" && !filepath.IsAbs(d) {
		return nil, bootstrap.Usagef("invalid %s %q: use an absolute path", cacheDirEnv, d)
	}

	dir, err := cache.Dir(r.Config.CacheDir, r.Getenv)
	if err != nil {
		r.disableCache(err, "")
		return nil, nil
	}
	r.store = cache.New(dir)
	return r.store, nil
}

// lookup returns the entry for key when it is present, trusted and fresh. An
// untrusted entry (a symbolic link, a file of another user or one that others
// can read) is not used. The caller then replaces it with a new entry by
// rename, which never writes through it.
func (r *Runner) lookup(store *cache.Store, key string, policy Policy) (cache.Entry, bool) {
	e, err := store.Get(key)
	switch {
	case err == nil && policy.Fresh(e, r.Now()):
		return e, true
	case err == nil && !e.IssuedAt.Before(e.ExpiresAt):
		r.Log.Logf(2, "cache entry %s is damaged: issuedAt is not before expiresAt", r.entryPath(key))
	case err == nil:
		r.Log.Logf(2, "cache entry %s is due for refresh (refresh at %s)", r.entryPath(key), policy.RefreshAt(e).UTC().Format(time.RFC3339))
	case errors.Is(err, cache.ErrUntrusted) && !r.untrustedWarning:
		r.untrustedWarning = true
		r.Log.Warnf("not using %v; caching is off for this call, and a new entry replaces it", err)
	default:
		r.Log.Logf(3, "%v", err)
	}
	return cache.Entry{}, false
}

// disableCache turns caching off for the rest of the run and warns once. The
// error names the path, and fix, when set, is the remedy shown with it.
func (r *Runner) disableCache(err error, fix string) {
	r.store = nil
	if r.cacheWarning {
		return
	}
	r.cacheWarning = true
	if fix != "" {
		fix += ", or "
	}
	r.Log.Warnf("%v; caching is off for this call, so each call mints a new token (%sset --cache-dir or %s to a directory you own)", err, fix, cacheDirEnv)
}

func (r *Runner) entryPath(key string) string {
	if r.store == nil {
		return key
	}
	return filepath.Join(r.store.Dir(), key+".json")
}

// mint sends one TokenRequest and returns it as a cache entry with a
// skew-corrected local expiry.
func (r *Runner) mint(ctx context.Context, inputs cache.Inputs) (cache.Entry, error) {
	r.Secrets.AddSecret(r.Config.Bootstrap.BearerToken())
	r.Log.configureKlog()

	b := r.Config.Bootstrap
	b.Warn = func(msg string) { r.Log.Warnf("%s", msg) }
	b.Logf = r.Log.Logf
	b.Timeout = r.Config.Timeout
	client, err := b.NewClient()
	if err != nil {
		return cache.Entry{}, err
	}

	req := r.Config.Request
	r.Log.Logf(1, "requesting a token for %s from %s", describeRequest(req), client.Describe())
	tok, err := client.RequestToken(ctx, req)
	if err != nil {
		return cache.Entry{}, err
	}
	r.Secrets.AddSecret(tok.Value)

	issuedAt, expiresAt, err := localExpiry(tok, r.Now(), req.ExpirationSeconds)
	if err != nil {
		return cache.Entry{}, &bootstrap.Error{Code: bootstrap.ExitFailure, Message: fmt.Sprintf("%s: check the clocks of the API server %s", err, client.Server())}
	}
	e := cache.Entry{
		Inputs:                    inputs,
		Token:                     tok.Value,
		IssuedAt:                  issuedAt,
		ExpiresAt:                 expiresAt,
		ServerExpirationTimestamp: tok.ExpirationTimestamp,
	}
	r.Log.Logf(1, "minted a token valid for %s (status.expirationTimestamp %s on the server's clock)", expiresAt.Sub(issuedAt).Round(time.Second), tok.ExpirationTimestamp.UTC().Format(time.RFC3339))

	policy := Policy{RefreshBuffer: r.Config.RefreshBuffer}
	if policy.Shortened(e) {
		r.Log.Warnf("the token's usable lifetime of %s (granted: %s, less clock resolution and latency) is not longer than --refresh-buffer %s; refreshing at half of it instead, so lower --refresh-buffer",
			expiresAt.Sub(issuedAt).Round(time.Second), grantedLifetime(tok, issuedAt).Round(time.Second), r.Config.RefreshBuffer)
	}
	if !policy.Fresh(e, r.Now()) {
		return cache.Entry{}, &bootstrap.Error{Code: bootstrap.ExitFailure, Message: fmt.Sprintf("the token minted for %s/%s is already due for refresh (expirationTimestamp %s); lower --refresh-buffer", req.Namespace, req.ServiceAccount, tok.ExpirationTimestamp.UTC().Format(time.RFC3339))}
	}
	return e, nil
}

// grantedLifetime returns the lifetime the API server granted, measured on
// its own clock when the response carried one.
func grantedLifetime(tok bootstrap.Token, issuedAt time.Time) time.Duration {
	if tok.ServerNow.IsZero() {
		return tok.ExpirationTimestamp.Sub(issuedAt)
	}
	return tok.ExpirationTimestamp.Sub(tok.ServerNow)
}

func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
