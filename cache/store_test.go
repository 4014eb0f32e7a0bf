package cache

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// issuedAt is a fixed instant, so entries compare equal after a round trip.
var issuedAt = time.Date(2030, time.January, 1, 12, 0, 0, 0, time.UTC)

func sampleEntry(in Inputs) Entry {
	return Entry{
		Inputs:                    in,
		Token:                     "FAKE.JWT.SECRET",
		IssuedAt:                  issuedAt,
		ExpiresAt:                 issuedAt.Add(time.Hour),
		ServerExpirationTimestamp: issuedAt.Add(time.Hour + 3*time.Second),
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read directory %s: %v", dir, err)
	}
	names := make([]string, 0, len(entries))
	for _, entry := range entries {
		names = append(names, entry.Name())
	}
	return names
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var temps []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(d.Name(), ".tmp") {
			temps = append(temps, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return temps
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	// WriteFile applies the umask, so Chmod sets the exact mode the case needs.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatalf("chmod %s: %v", path, err)
	}
}

func putSample(t *testing.T, store *Store) (string, Entry) {
	t.Helper()
	in := sampleInputs()
	entry := sampleEntry(in)
	key := in.Key()
	if err := store.Put(key, entry); err != nil {
		t.Fatalf("Put: %v", err)
	}
	return key, entry
}

func TestPutGetRoundTrip(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "kube-sa-token")
	store := New(dir)

	key, want := putSample(t, store)
	got, err := store.Get(key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Get() = %+v, want %+v", got, want)
	}

	for _, d := range []string{filepath.Join(root, "a"), filepath.Join(root, "a", "b"), dir} {
		info, err := os.Stat(d)
		if err != nil {
			t.Fatalf("stat %s: %v", d, err)
		}
		if perm := info.Mode().Perm(); perm != 0o700 {
			t.Errorf("mode of %s = %#o, want 0700", d, perm)
		}
	}
	info, err := os.Stat(filepath.Join(dir, key+".json"))
	if err != nil {
		t.Fatalf("stat entry: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode of entry = %#o, want 0600", perm)
	}
	if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{key + ".json"}) {
		t.Errorf("cache directory contains %q, want only %s.json", names, key)
	}
}

func TestPutOverwritesEntry(t *testing.T) {
	store := New(t.TempDir())
	key, first := putSample(t, store)

	second := first
	second.Token = "FAKE.JWT.SECOND"
	second.ExpiresAt = first.ExpiresAt.Add(time.Hour)
	if err := store.Put(key, second); err != nil {
		t.Fatalf("second Put: %v", err)
	}

	got, err := store.Get(key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Token != second.Token {
		t.Errorf("Get().Token = %q, want %q", got.Token, second.Token)
	}
	if !got.ExpiresAt.Equal(second.ExpiresAt) {
		t.Errorf("Get().ExpiresAt = %s, want %s", got.ExpiresAt, second.ExpiresAt)
	}
}

func TestDamagedEntryIsMissThenReplaced(t *testing.T) {
	for _, name := range []string{"cache-torn.bin", "cache-empty.bin", "cache-garbage.bin"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "testdata", "cache", name))
			if err != nil {
				t.Fatalf("read test data: %v", err)
			}
			store := New(t.TempDir())
			in := sampleInputs()
			key := in.Key()
			writeFile(t, store.entryPath(key), data, 0o600)

			_, err = store.Get(key)
			if !errors.Is(err, ErrMiss) {
				t.Fatalf("Get() error = %v, want ErrMiss", err)
			}
			if errors.Is(err, ErrUntrusted) {
				t.Errorf("Get() error = %v, want no ErrUntrusted for a damaged file of our own", err)
			}

			want := sampleEntry(in)
			if err := store.Put(key, want); err != nil {
				t.Fatalf("Put over damaged entry: %v", err)
			}
			got, err := store.Get(key)
			if err != nil {
				t.Fatalf("Get after Put: %v", err)
			}
			if got.Token != want.Token {
				t.Errorf("Get().Token = %q, want %q", got.Token, want.Token)
			}
		})
	}
}

// rawEntry returns the JSON document Put writes for e, as a map so a test can
// change one field.
func rawEntry(t *testing.T, e Entry) map[string]any {
	t.Helper()
	data, err := encodeEntry(e)
	if err != nil {
		t.Fatalf("encode entry: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("decode entry: %v", err)
	}
	return doc
}

func TestGetMissesOnInvalidContent(t *testing.T) {
	in := sampleInputs()
	key := in.Key()
	other := in
	other.Namespace = "team-b"
	otherKey := other.Key()

	tests := []struct {
		name       string
		getKey     string
		edit       func(doc map[string]any)
		wantReason string
	}{
		{"newer format version", key, func(doc map[string]any) { doc["version"] = FormatVersion + 1 }, "entry format version 2"},
		{"missing format version", key, func(doc map[string]any) { delete(doc, "version") }, "entry format version 0"},
		{"entry under another key", otherKey, func(map[string]any) {}, "key mismatch"},
		{"empty token", key, func(doc map[string]any) { doc["token"] = "" }, "empty token"},
		{"missing expiresAt", key, func(doc map[string]any) { delete(doc, "expiresAt") }, "zero expiresAt"},
		{"missing issuedAt", key, func(doc map[string]any) { delete(doc, "issuedAt") }, "zero issuedAt"},
		{"missing server expiry", key, func(doc map[string]any) { delete(doc, "serverExpirationTimestamp") }, "zero serverExpirationTimestamp"},
		{"token of wrong type", key, func(doc map[string]any) { doc["token"] = 42 }, "corrupt entry"},
		{"unparsable time", key, func(doc map[string]any) { doc["expiresAt"] = "tomorrow" }, "corrupt entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := New(t.TempDir())
			doc := rawEntry(t, sampleEntry(in))
			tt.edit(doc)
			data, err := json.Marshal(doc)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			writeFile(t, store.entryPath(tt.getKey), data, 0o600)

			_, err = store.Get(tt.getKey)
			if !errors.Is(err, ErrMiss) {
				t.Fatalf("Get() error = %v, want ErrMiss", err)
			}
			if !strings.Contains(err.Error(), tt.wantReason) {
				t.Errorf("Get() error = %q, want it to contain %q", err, tt.wantReason)
			}
			if !strings.Contains(err.Error(), store.entryPath(tt.getKey)) {
				t.Errorf("Get() error = %q, want it to name the entry path", err)
			}
			if strings.Contains(err.Error(), "FAKE.JWT.SECRET") {
				t.Errorf("Get() error = %q contains the token", err)
			}
		})
	}
}

func TestGetMissesOnAbsentOrOversized(t *testing.T) {
	store := New(t.TempDir())
	key := sampleInputs().Key()

	_, err := store.Get(key)
	if !errors.Is(err, ErrMiss) {
		t.Errorf("Get() of absent entry error = %v, want ErrMiss", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get() of absent entry error = %v, want it to wrap fs.ErrNotExist", err)
	}

	_, err = New(filepath.Join(t.TempDir(), "never-created")).Get(key)
	if !errors.Is(err, ErrMiss) {
		t.Errorf("Get() in absent directory error = %v, want ErrMiss", err)
	}

	_, err = store.Get("../../etc/passwd")
	if !errors.Is(err, ErrMiss) {
		t.Errorf("Get() of invalid key error = %v, want ErrMiss", err)
	}

	writeFile(t, store.entryPath(key), make([]byte, maxEntrySize+1), 0o600)
	_, err = store.Get(key)
	if !errors.Is(err, ErrMiss) {
		t.Fatalf("Get() of oversized entry error = %v, want ErrMiss", err)
	}
	if !strings.Contains(err.Error(), "more than the 65536") {
		t.Errorf("Get() of oversized entry error = %q, want it to name the size limit", err)
	}
}

func TestGetParsesTimestampForms(t *testing.T) {
	in := sampleInputs()
	key := in.Key()
	inputs, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	doc := `{"version":1,"inputs":` + string(inputs) + `,"token":"FAKE.JWT.SECRET",` +
		`"issuedAt":"2030-01-01T12:00:00Z",` +
		`"expiresAt":"2030-01-01T15:00:00+02:00",` +
		`"serverExpirationTimestamp":"2030-01-01T13:00:03.123456789Z"}`
	store := New(t.TempDir())
	writeFile(t, store.entryPath(key), []byte(doc), 0o600)

	got, err := store.Get(key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	tests := []struct {
		field string
		got   time.Time
		want  time.Time
	}{
		{"issuedAt with Z", got.IssuedAt, time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)},
		{"expiresAt with +02:00", got.ExpiresAt, time.Date(2030, 1, 1, 13, 0, 0, 0, time.UTC)},
		{"serverExpirationTimestamp with fraction", got.ServerExpirationTimestamp, time.Date(2030, 1, 1, 13, 0, 3, 123456789, time.UTC)},
	}
	for _, tt := range tests {
		if !tt.got.Equal(tt.want) {
			t.Errorf("%s = %s, want %s", tt.field, tt.got, tt.want)
		}
	}
}

func TestPutFailureKeepsOldEntry(t *testing.T) {
	store := New(t.TempDir())
	key, old := putSample(t, store)

	var sawTemp bool
	store.beforeRename = func(tmpPath string) error {
		_, err := os.Stat(tmpPath)
		sawTemp = err == nil
		return errors.New("injected failure before rename")
	}
	replacement := old
	replacement.Token = "FAKE.JWT.REPLACEMENT"
	err := store.Put(key, replacement)

	if err == nil {
		t.Fatal("Put() error = nil, want the injected failure")
	}
	if !strings.Contains(err.Error(), "injected failure") {
		t.Errorf("Put() error = %q, want the injected failure", err)
	}
	if !sawTemp {
		t.Error("the temp file did not exist when the hook ran")
	}
	got, err := store.Get(key)
	if err != nil {
		t.Fatalf("Get after failed Put: %v", err)
	}
	if got.Token != old.Token {
		t.Errorf("Get().Token after failed Put = %q, want the old %q", got.Token, old.Token)
	}
	if temps := tempFiles(t, store.Dir()); len(temps) != 0 {
		t.Errorf("temp files left behind: %q", temps)
	}
}

func TestPutRejectsInvalidEntries(t *testing.T) {
	in := sampleInputs()
	key := in.Key()
	tests := []struct {
		name    string
		key     string
		edit    func(*Entry)
		wantErr string
	}{
		{"invalid key", "../escape", func(*Entry) {}, "invalid cache key"},
		{"inputs of another key", key, func(e *Entry) { e.Inputs.Namespace = "team-b" }, "inputs have key"},
		{"empty token", key, func(e *Entry) { e.Token = "" }, "empty token"},
		{"zero issuedAt", key, func(e *Entry) { e.IssuedAt = time.Time{} }, "zero issuedAt"},
		{"zero expiresAt", key, func(e *Entry) { e.ExpiresAt = time.Time{} }, "zero expiresAt"},
		{"zero server expiry", key, func(e *Entry) { e.ServerExpirationTimestamp = time.Time{} }, "zero serverExpirationTimestamp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := New(t.TempDir())
			entry := sampleEntry(in)
			tt.edit(&entry)

			err := store.Put(tt.key, entry)
			if err == nil {
				t.Fatalf("Put() error = nil, want one containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Put() error = %q, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "FAKE.JWT.SECRET") {
				t.Errorf("Put() error = %q contains the token", err)
			}
			if names := dirNames(t, store.Dir()); len(names) != 0 {
				t.Errorf("cache directory contains %q after a rejected Put, want nothing", names)
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	store := New(b.TempDir())
	in := sampleInputs()
	key := in.Key()
	if err := store.Put(key, sampleEntry(in)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.Get(key); err != nil {
			b.Fatal(err)
		}
	}
}
