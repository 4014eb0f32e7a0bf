package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLockBlocksSameKey(t *testing.T) {
	store := New(t.TempDir())
	key := sampleInputs().Key()
	unlock, err := store.Lock(t.Context(), key)
	if err != nil {
		t.Fatalf("first Lock: %v", err)
	}

	acquired := make(chan error, 1)
	released := make(chan struct{})
	go func() {
		unlockSecond, err := store.Lock(t.Context(), key)
		acquired <- err
		if err == nil {
			<-released
			unlockSecond()
		}
	}()
	defer close(released)

	select {
	case err := <-acquired:
		t.Fatalf("second Lock returned (error %v) while the first was held", err)
	case <-time.After(200 * time.Millisecond):
	}

	unlock()
	select {
	case err := <-acquired:
		if err != nil {
			t.Fatalf("second Lock after unlock: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second Lock still waiting 10s after the first unlock")
	}
}

func TestLockTimesOutWithContext(t *testing.T) {
	store := New(t.TempDir())
	key := sampleInputs().Key()
	unlock, err := store.Lock(t.Context(), key)
	if err != nil {
		t.Fatalf("first Lock: %v", err)
	}
	defer unlock()

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	unlockSecond, err := store.Lock(ctx, key)
	elapsed := time.Since(start)

	if unlockSecond != nil {
		t.Error("Lock() returned an unlock function along with the timeout")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock() error = %v, want context.DeadlineExceeded", err)
	}
	if lockPath := filepath.Join(store.Dir(), key+".lock"); !strings.Contains(err.Error(), lockPath) {
		t.Errorf("Lock() error = %q, want it to name %s", err, lockPath)
	}
	if elapsed > 5*time.Second {
		t.Errorf("Lock() took %s to notice a 30ms deadline", elapsed)
	}
}

func TestLockDifferentKeysIndependent(t *testing.T) {
	store := New(t.TempDir())
	first := sampleInputs()
	second := first
	second.Namespace = "team-b"

	unlockFirst, err := store.Lock(t.Context(), first.Key())
	if err != nil {
		t.Fatalf("Lock first key: %v", err)
	}
	defer unlockFirst()

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	unlockSecond, err := store.Lock(ctx, second.Key())
	if err != nil {
		t.Fatalf("Lock second key while the first is held: %v", err)
	}
	unlockSecond()
}

func TestLockKeepsLockFileAfterUnlock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fresh")
	store := New(dir)
	key := sampleInputs().Key()
	unlock, err := store.Lock(t.Context(), key)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	unlock()
	unlock() // A second call must be harmless.

	info, err := os.Stat(filepath.Join(dir, key+".lock"))
	if err != nil {
		t.Fatalf("lock file after unlock: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("lock file mode = %#o, want 0600", perm)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	relock, err := store.Lock(ctx, key)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	relock()
}

func TestLockRejectsInvalidKey(t *testing.T) {
	dir := t.TempDir()
	_, err := New(dir).Lock(t.Context(), "../outside")
	if err == nil {
		t.Fatal("Lock() error = nil, want an invalid cache key error")
	}
	if !strings.Contains(err.Error(), "invalid cache key") {
		t.Errorf("Lock() error = %q, want an invalid cache key error", err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("cache directory contains %q, want nothing", names)
	}
}

// Environment of the child processes that TestLockAcrossProcesses starts.
const (
	envLockChildDir   = "KUBE_SA_TOKEN_CACHE_TEST_LOCK_DIR"
	envLockChildIndex = "KUBE_SA_TOKEN_CACHE_TEST_LOCK_INDEX"
)

const lockChildren = 8

// TestLockAcrossProcesses starts lockChildren copies of the test binary at
// once. Each takes the lock, reads the entry and on a miss "mints": it
// increments a counter file, sleeps, and puts a token naming itself. Exactly
// one child must mint, and every child must end up with that child's token.
func TestLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	cmds := make([]*exec.Cmd, lockChildren)
	outputs := make([]*strings.Builder, lockChildren)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLockChildProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), envLockChildDir+"="+dir, envLockChildIndex+"="+strconv.Itoa(i))
		outputs[i] = &strings.Builder{}
		cmd.Stdout, cmd.Stderr = outputs[i], outputs[i]
		cmds[i] = cmd
	}
	for i, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatalf("start child %d: %v", i, err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("child %d: %v\n%s", i, err, outputs[i])
		}
	}
	if t.Failed() {
		return
	}

	counter, err := os.ReadFile(filepath.Join(dir, "mints"))
	if err != nil {
		t.Fatalf("read mint counter: %v", err)
	}
	if got := strings.TrimSpace(string(counter)); got != "1" {
		t.Errorf("mint counter = %s, want 1", got)
	}

	var firstToken string
	for i := range lockChildren {
		token, err := os.ReadFile(filepath.Join(dir, "result-"+strconv.Itoa(i)))
		if err != nil {
			t.Fatalf("read result of child %d: %v", i, err)
		}
		if !strings.HasPrefix(string(token), "FAKE.TOKEN.MINTED-BY-") {
			t.Errorf("child %d read token %q, want one minted by a child", i, token)
		}
		if i == 0 {
			firstToken = string(token)
		} else if string(token) != firstToken {
			t.Errorf("child %d read token %q, child 0 read %q", i, token, firstToken)
		}
	}
}

// TestLockChildProcess is the body of one child of TestLockAcrossProcesses.
// It does nothing when run directly.
func TestLockChildProcess(t *testing.T) {
	dir := os.Getenv(envLockChildDir)
	if dir == "" {
		return
	}
	index := os.Getenv(envLockChildIndex)
	token, err := lockGetOrMint(t.Context(), New(filepath.Join(dir, "cache")), dir, "FAKE.TOKEN.MINTED-BY-"+index)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "result-"+index), []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
}

// lockGetOrMint is the plugin's miss path in miniature: lock, read, and on a
// miss count a mint and put newToken.
func lockGetOrMint(ctx context.Context, store *Store, counterDir, newToken string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	in := sampleInputs()
	key := in.Key()

	unlock, err := store.Lock(ctx, key)
	if err != nil {
		return "", err
	}
	defer unlock()

	if entry, err := store.Get(key); err == nil {
		return entry.Token, nil
	} else if !errors.Is(err, ErrMiss) {
		return "", err
	}

	if err := incrementCounter(filepath.Join(counterDir, "mints")); err != nil {
		return "", err
	}
	time.Sleep(50 * time.Millisecond)
	entry := sampleEntry(in)
	entry.Token = newToken
	if err := store.Put(key, entry); err != nil {
		return "", err
	}
	return newToken, nil
}

func incrementCounter(path string) error {
	count := 0
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if count, err = strconv.Atoi(strings.TrimSpace(string(data))); err != nil {
			return fmt.Errorf("parse counter %s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return err
	}
	return os.WriteFile(path, []byte(strconv.Itoa(count+1)+"\n"), 0o600)
}
