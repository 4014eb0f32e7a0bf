package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrMiss is wrapped by every Get error that means "no usable entry": absent,
// empty, too large, corrupt, torn, wrong version, key mismatch, a zero
// timestamp or an empty token.
var ErrMiss = errors.New("cache miss")

// ErrUntrusted is wrapped by Get errors for an entry that another user could
// have written or read: a symbolic link, not a regular file, owned by another
// user, or with group or other permission bits. Put and Lock wrap it for a
// cache directory that is not a directory owned by the current user, or that
// is writable by group or others.
var ErrUntrusted = errors.New("untrusted cache entry")

// maxEntrySize bounds the read of one entry file. A ServiceAccount token is
// typically 1 to 2 KiB, so a file over 64 KiB is not an entry this package
// wrote.
const maxEntrySize = 64 << 10

// Entry is one cached token with the Inputs its key was computed from. It
// never contains a serialized ExecCredential, so one entry serves every
// ExecCredential version.
type Entry struct {
	Inputs                    Inputs    `json:"inputs"`
	Token                     string    `json:"token"`
	IssuedAt                  time.Time `json:"issuedAt"`                  // local clock, when the TokenRequest was sent
	ExpiresAt                 time.Time `json:"expiresAt"`                 // local clock, expiry corrected for clock skew
	ServerExpirationTimestamp time.Time `json:"serverExpirationTimestamp"` // as granted, server clock
}

// entryFile is the JSON document in <key>.json. encoding/json writes the
// times as RFC 3339 with fractional seconds and reads any RFC 3339 form:
// "Z" or a numeric offset, with or without fractional seconds.
type entryFile struct {
	Version int `json:"version"`
	Entry
}

func encodeEntry(e Entry) ([]byte, error) {
	data, err := json.Marshal(entryFile{Version: FormatVersion, Entry: e})
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// decodeEntry parses data read from path and checks that it is a complete
// entry for key. Every error wraps ErrMiss. Errors from encoding/json name a
// type, a field or a single character, never the token.
func decodeEntry(path, key string, data []byte) (Entry, error) {
	if len(data) == 0 {
		return Entry{}, missError(path, "empty file", nil)
	}

	var file entryFile
	if err := json.Unmarshal(data, &file); err != nil {
		// A torn write (a complete object followed by other bytes) lands here too,
		// because json.Unmarshal rejects anything after the top-level value.
		return Entry{}, missError(path, "corrupt entry", err)
	}
	if file.Version != FormatVersion {
		reason := fmt.Sprintf("entry format version %d, expected %d", file.Version, FormatVersion)
		return Entry{}, missError(path, reason, nil)
	}
	if problem := incompleteField(file.Entry); problem != "" {
		return Entry{}, missError(path, problem, nil)
	}
	if got := file.Inputs.Key(); got != key {
		reason := fmt.Sprintf("key mismatch: the stored inputs have key %s", got)
		return Entry{}, missError(path, reason, nil)
	}
	return file.Entry, nil
}

// incompleteField names the first field of e that Get would reject, or
// returns "" when e is complete.
func incompleteField(e Entry) string {
	switch {
	case e.Token == "":
		return "empty token"
	case e.IssuedAt.IsZero():
		return "zero issuedAt"
	case e.ExpiresAt.IsZero():
		return "zero expiresAt"
	case e.ServerExpirationTimestamp.IsZero():
		return "zero serverExpirationTimestamp"
	}
	return ""
}

func missError(path, reason string, cause error) error {
	if cause == nil {
		return fmt.Errorf("%w: %s: %s", ErrMiss, path, reason)
	}
	return fmt.Errorf("%w: %s: %s: %w", ErrMiss, path, reason, cause)
}

func untrustedError(path, reason string) error {
	return fmt.Errorf("%w: %s: %s", ErrUntrusted, path, reason)
}
