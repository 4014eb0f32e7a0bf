package cache

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestPruneRemovesStaleFiles(t *testing.T) {
	store := New(t.TempDir())
	now := issuedAt.Add(10 * time.Hour)
	grace := time.Hour

	// putWithExpiry writes an entry for a namespace that expires at expiresAt.
	putWithExpiry := func(namespace string, expiresAt time.Time) string {
		in := sampleInputs()
		in.Namespace = namespace
		entry := sampleEntry(in)
		entry.ExpiresAt = expiresAt
		if err := store.Put(in.Key(), entry); err != nil {
			t.Fatalf("Put %s: %v", namespace, err)
		}
		return in.Key() + ".json"
	}
	// plant writes a file with the given modification time.
	plant := func(name string, data []byte, modTime time.Time) string {
		path := filepath.Join(store.Dir(), name)
		writeFile(t, path, data, 0o600)
		if err := os.Chtimes(path, modTime, modTime); err != nil {
			t.Fatal(err)
		}
		return name
	}
	keyFor := func(namespace string) string {
		in := sampleInputs()
		in.Namespace = namespace
		return in.Key()
	}

	expired := putWithExpiry("expired", now.Add(-grace-time.Minute))
	withinGrace := putWithExpiry("within-grace", now.Add(-grace+time.Minute))
	fresh := putWithExpiry("fresh", now.Add(time.Hour))
	oldTemp := plant("."+keyFor("fresh")+".123456.tmp", []byte("partial"), now.Add(-2*time.Hour))
	newTemp := plant("."+keyFor("fresh")+".654321.tmp", []byte("partial"), now.Add(-time.Minute))
	oldCorrupt := plant(keyFor("old-corrupt")+".json", []byte("{garbage"), now.Add(-2*time.Hour))
	newCorrupt := plant(keyFor("new-corrupt")+".json", []byte("{garbage"), now.Add(-time.Minute))
	unrelated := plant("notes.txt", []byte("not ours"), now.Add(-48*time.Hour))

	// An expired entry whose lock is held is being replaced by another process.
	lockedExpired := putWithExpiry("locked", now.Add(-48*time.Hour))
	unlock, err := store.Lock(t.Context(), keyFor("locked"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	removed, err := store.Prune(now, grace)
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}

	names := dirNames(t, store.Dir())
	for _, name := range []string{expired, oldTemp, oldCorrupt} {
		if slices.Contains(names, name) {
			t.Errorf("Prune kept %s, want it removed", name)
		}
	}
	for _, name := range []string{withinGrace, fresh, newTemp, newCorrupt, unrelated, lockedExpired, keyFor("locked") + ".lock"} {
		if !slices.Contains(names, name) {
			t.Errorf("Prune removed %s, want it kept", name)
		}
	}
	if removed != 3 {
		t.Errorf("Prune() = %d, want 3", removed)
	}
}

func TestPruneIgnoresAbsentDir(t *testing.T) {
	removed, err := New(filepath.Join(t.TempDir(), "absent")).Prune(issuedAt, time.Hour)
	if err != nil {
		t.Errorf("Prune() error = %v, want nil", err)
	}
	if removed != 0 {
		t.Errorf("Prune() = %d, want 0", removed)
	}
}
