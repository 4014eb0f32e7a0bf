package plugin

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	clientauthv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"
	clientauthv1beta1 "k8s.io/client-go/pkg/apis/clientauthentication/v1beta1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/plugin")

func TestEncodeCredentialGolden(t *testing.T) {
	expiry := time.Date(2030, 3, 2, 9, 59, 0, 900_000_000, time.FixedZone("CET", 3600))
	tests := []struct {
		apiVersion string
		golden     string
	}{
		{APIVersionV1, "execcredential-v1.json"},
		{APIVersionV1beta1, "execcredential-v1beta1.json"},
	}
	for _, tt := range tests {
		t.Run(tt.apiVersion, func(t *testing.T) {
			got, err := EncodeCredential(tt.apiVersion, "FAKE.JWT.SECRET", expiry)
			if err != nil {
				t.Fatalf("EncodeCredential() error: %v", err)
			}
			path := filepath.Join("..", "testdata", "plugin", tt.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run go test ./plugin -update to create it): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("EncodeCredential(%s) =\n%s\nwant\n%s", tt.apiVersion, got, want)
			}
		})
	}
}

// TestEncodeCredentialDecodes checks the output with the client-go types and a
// strict decoder: one object, no unknown fields, no trailing bytes.
func TestEncodeCredentialDecodes(t *testing.T) {
	expiry := time.Date(2030, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, v := range SupportedAPIVersions {
		t.Run(v, func(t *testing.T) {
			out, err := EncodeCredential(v, "FAKE.JWT.SECRET", expiry)
			if err != nil {
				t.Fatal(err)
			}
			token, gotExpiry, gotVersion := decodeStrict(t, out)
			if gotVersion != v {
				t.Errorf("apiVersion = %q, want %q", gotVersion, v)
			}
			if token != "FAKE.JWT.SECRET" {
				t.Errorf("token = %q", token)
			}
			if !gotExpiry.Equal(expiry) {
				t.Errorf("expirationTimestamp = %s, want %s", gotExpiry, expiry)
			}
		})
	}
	if _, err := EncodeCredential("client.authentication.k8s.io/v1alpha1", "x", expiry); err == nil {
		t.Error("EncodeCredential(v1alpha1) succeeded, want an error")
	}
}

// decodeStrict decodes exactly one ExecCredential from out and fails the test
// on unknown fields or trailing data.
func decodeStrict(t *testing.T, out []byte) (token string, expiry time.Time, apiVersion string) {
	t.Helper()
	var meta struct {
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(out, &meta); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%q", err, out)
	}

	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	switch meta.APIVersion {
	case APIVersionV1:
		var c clientauthv1.ExecCredential
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("strict decode: %v", err)
		}
		if c.Kind != "ExecCredential" || c.Status == nil || c.Status.ExpirationTimestamp == nil {
			t.Fatalf("incomplete ExecCredential: %s", out)
		}
		token, expiry = c.Status.Token, c.Status.ExpirationTimestamp.Time
	case APIVersionV1beta1:
		var c clientauthv1beta1.ExecCredential
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("strict decode: %v", err)
		}
		if c.Kind != "ExecCredential" || c.Status == nil || c.Status.ExpirationTimestamp == nil {
			t.Fatalf("incomplete ExecCredential: %s", out)
		}
		token, expiry = c.Status.Token, c.Status.ExpirationTimestamp.Time
	default:
		t.Fatalf("unexpected apiVersion %q in %s", meta.APIVersion, out)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil || err.Error() != "EOF" {
		t.Fatalf("trailing data after the ExecCredential: %q (err %v)", extra, err)
	}
	return token, expiry, meta.APIVersion
}
