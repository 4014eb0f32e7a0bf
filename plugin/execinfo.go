package plugin

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kube-sa-token/kube-sa-token/bootstrap"
)

// ExecInfoEnv is the variable through which client-go passes the exec info.
const ExecInfoEnv = "KUBERNETES_EXEC_INFO"

// The ExecCredential versions this plugin prints.
const (
	APIVersionV1      = "client.authentication.k8s.io/v1"
	APIVersionV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// SupportedAPIVersions lists the ExecCredential versions in the order they are
// shown in messages and shell completion.
var SupportedAPIVersions = []string{APIVersionV1, APIVersionV1beta1}

// ExecInfo is the part of KUBERNETES_EXEC_INFO that the plugin uses.
type ExecInfo struct {
	// APIVersion is the ExecCredential version to print.
	APIVersion string
	// Interactive is spec.interactive. It is recorded for logs only: the
	// plugin never prompts.
	Interactive bool
	// ClusterServer is spec.cluster.server, present only when the kubeconfig
	// stanza sets provideClusterInfo: true.
	ClusterServer string
}

// execInfoJSON mirrors the fields of ExecCredential read from the exec info.
// Both v1 and v1beta1 share this shape.
type execInfoJSON struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Spec       struct {
		Interactive bool `json:"interactive"`
		Cluster     *struct {
			Server string `json:"server"`
		} `json:"cluster"`
	} `json:"spec"`
}

// ParseExecInfo decodes the value of KUBERNETES_EXEC_INFO. An unset or blank
// value selects defaultVersion, the version named by --api-version.
func ParseExecInfo(raw, defaultVersion string) (ExecInfo, error) {
	if strings.TrimSpace(raw) == "" {
		if err := CheckAPIVersion(defaultVersion); err != nil {
			return ExecInfo{}, bootstrap.Usagef("invalid --api-version: %v", err)
		}
		return ExecInfo{APIVersion: defaultVersion}, nil
	}

	var in execInfoJSON
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return ExecInfo{}, bootstrap.Usagef("invalid %s: %v; it must be the ExecCredential JSON that client-go passes to exec plugins", ExecInfoEnv, err)
	}
	if in.Kind != "" && in.Kind != "ExecCredential" {
		return ExecInfo{}, bootstrap.Usagef("invalid %s: kind is %q, expected ExecCredential", ExecInfoEnv, in.Kind)
	}
	if in.APIVersion == "" {
		return ExecInfo{}, bootstrap.Usagef("invalid %s: apiVersion is missing; expected one of %s", ExecInfoEnv, strings.Join(SupportedAPIVersions, ", "))
	}
	if err := CheckAPIVersion(in.APIVersion); err != nil {
		return ExecInfo{}, bootstrap.Usagef("invalid %s: %v", ExecInfoEnv, err)
	}

	info := ExecInfo{APIVersion: in.APIVersion, Interactive: in.Spec.Interactive}
	if in.Spec.Cluster != nil {
		info.ClusterServer = in.Spec.Cluster.Server
	}
	return info, nil
}

// CheckAPIVersion returns an error naming v and the supported versions unless v
// is one of them.
func CheckAPIVersion(v string) error {
	for _, s := range SupportedAPIVersions {
		if v == s {
			return nil
		}
	}
	return fmt.Errorf("unsupported ExecCredential apiVersion %q; supported: %s", v, strings.Join(SupportedAPIVersions, ", "))
}
