package plugin

import (
	"errors"
	"strings"
	"testing"

	"github.com/kube-sa-token/kube-sa-token/bootstrap"
)

func TestParseExecInfo(t *testing.T) {
	tests := []struct {
		name          string
		raw           string
		defaultVer    string
		wantVersion   string
		wantServer    string
		wantErrSubstr []string
	}{
		{name: "unset uses the flag", raw: "", defaultVer: APIVersionV1beta1, wantVersion: APIVersionV1beta1},
		{name: "blank uses the flag", raw: "  \n", defaultVer: APIVersionV1, wantVersion: APIVersionV1},
		{
			name:        "v1 without cluster",
			raw:         `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`,
			defaultVer:  APIVersionV1beta1,
			wantVersion: APIVersionV1,
		},
		{
			name:        "v1beta1 with cluster",
			raw:         `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":true,"cluster":{"server":"https://127.0.0.1:6443","config":null}}}`,
			defaultVer:  APIVersionV1,
			wantVersion: APIVersionV1beta1,
			wantServer:  "https://127.0.0.1:6443",
		},
		{
			name:          "v1alpha1 rejected",
			raw:           `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{}}`,
			defaultVer:    APIVersionV1,
			wantErrSubstr: []string{"client.authentication.k8s.io/v1alpha1", APIVersionV1, APIVersionV1beta1},
		},
		{
			name:          "foreign group rejected",
			raw:           `{"kind":"ExecCredential","apiVersion":"example.com/v9","spec":{}}`,
			defaultVer:    APIVersionV1,
			wantErrSubstr: []string{"example.com/v9", APIVersionV1, APIVersionV1beta1},
		},
		{
			name:          "malformed JSON",
			raw:           `{"kind":"ExecCredential",`,
			defaultVer:    APIVersionV1,
			wantErrSubstr: []string{ExecInfoEnv, "unexpected end of JSON input"},
		},
		{
			name:          "missing apiVersion",
			raw:           `{"kind":"ExecCredential","spec":{}}`,
			defaultVer:    APIVersionV1,
			wantErrSubstr: []string{ExecInfoEnv, "apiVersion is missing", APIVersionV1beta1},
		},
		{
			name:          "wrong kind",
			raw:           `{"kind":"Pod","apiVersion":"client.authentication.k8s.io/v1"}`,
			defaultVer:    APIVersionV1,
			wantErrSubstr: []string{ExecInfoEnv, `"Pod"`},
		},
		{
			name:          "bad default version",
			raw:           "",
			defaultVer:    "v1",
			wantErrSubstr: []string{"--api-version", `"v1"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ParseExecInfo(tt.raw, tt.defaultVer)
			if len(tt.wantErrSubstr) > 0 {
				if err == nil {
					t.Fatalf("ParseExecInfo() = %+v, want an error", info)
				}
				var be *bootstrap.Error
				if !errors.As(err, &be) || be.ExitCode() != bootstrap.ExitUsage {
					t.Errorf("error %v: want exit code %d", err, bootstrap.ExitUsage)
				}
				for _, s := range tt.wantErrSubstr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseExecInfo() error: %v", err)
			}
			if info.APIVersion != tt.wantVersion {
				t.Errorf("APIVersion = %q, want %q", info.APIVersion, tt.wantVersion)
			}
			if info.ClusterServer != tt.wantServer {
				t.Errorf("ClusterServer = %q, want %q", info.ClusterServer, tt.wantServer)
			}
		})
	}
}
