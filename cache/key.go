package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// FormatVersion is the version of the entry file format and of the key
// encoding. Bump it when either changes, so older entries read as misses.
const FormatVersion = 1

// keyDomain separates cache key hashes from any other SHA-256 use.
const keyDomain = "kube-sa-token cache key"

// Inputs are the non-secret values a key is computed from. An Entry stores
// them so that entries can be listed later. No field may contain a secret:
// identities are fingerprints.
type Inputs struct {
	BootstrapSource   string   `json:"bootstrapSource"`           // "kubeconfig", "server" or "in-cluster"
	BootstrapServer   string   `json:"bootstrapServer,omitempty"` // URL when known without parsing the kubeconfig
	BootstrapCA       string   `json:"bootstrapCA,omitempty"`     // "sha256:<hex>" of the CA bytes
	BootstrapIdentity string   `json:"bootstrapIdentity"`         // opaque, non-secret: file stamps and context, or a token fingerprint
	Namespace         string   `json:"namespace"`
	ServiceAccount    string   `json:"serviceAccount"`
	Audiences         []string `json:"audiences,omitempty"`
	ExpirationSeconds int64    `json:"expirationSeconds"`
	BoundObjectKind   string   `json:"boundObjectKind,omitempty"`
	BoundObjectName   string   `json:"boundObjectName,omitempty"`
	BoundObjectUID    string   `json:"boundObjectUID,omitempty"`
	ClusterServer     string   `json:"clusterServer,omitempty"` // spec.cluster.server from KUBERNETES_EXEC_INFO
}

// Key returns the lowercase hex SHA-256 of FormatVersion and in. Every string
// is length-prefixed, so no two distinct Inputs share an encoding. Key sorts a
// copy of Audiences, so their order does not matter and the caller's slice
// stays as it was. Nil and empty Audiences give the same key.
//
// Adding a field to Inputs requires adding it here and bumping FormatVersion.
// The key tests check by reflection that every field changes the key.
func (in Inputs) Key() string {
	audiences := slices.Clone(in.Audiences)
	slices.Sort(audiences)

	buf := make([]byte, 0, 512)
	buf = appendString(buf, keyDomain)
	buf = binary.BigEndian.AppendUint64(buf, FormatVersion)
	buf = appendString(buf, in.BootstrapSource)
	buf = appendString(buf, in.BootstrapServer)
	buf = appendString(buf, in.BootstrapCA)
	buf = appendString(buf, in.BootstrapIdentity)
	buf = appendString(buf, in.Namespace)
	buf = appendString(buf, in.ServiceAccount)
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(audiences)))
	for _, audience := range audiences {
		buf = appendString(buf, audience)
	}
	buf = binary.BigEndian.AppendUint64(buf, uint64(in.ExpirationSeconds))
	buf = appendString(buf, in.BoundObjectKind)
	buf = appendString(buf, in.BoundObjectName)
	buf = appendString(buf, in.BoundObjectUID)
	buf = appendString(buf, in.ClusterServer)

	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:])
}

func appendString(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(s)))
	return append(buf, s...)
}

// isKey reports whether key has the form Key returns. Store methods check it
// because the key becomes a file name: anything else could name a path
// outside the cache directory.
func isKey(key string) bool {
	if len(key) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
