package bootstrap

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Identity is the non-secret fingerprint of the bootstrap identity, one part of
// the cache key. Two runs with equal Identity values may share a cached token.
type Identity struct {
	Source string // "kubeconfig", "server" or "in-cluster"
	Server string // API server URL; "" in kubeconfig mode, where reading it would mean parsing the kubeconfig
	CA     string // "sha256:<hex>" of the CA file bytes, "insecure", or "" in kubeconfig mode
	ID     string // fingerprint of the credentials; the format depends on Source
}

// Labels for the mounted in-cluster files in messages.
const (
	inClusterTokenLabel = "in-cluster ServiceAccount token file"
	inClusterCALabel    = "in-cluster CA file"
)

// Identity fingerprints the bootstrap identity without building a client. It is
// on the cache-hit path of every kubectl call, so it never parses a kubeconfig.
//
// In kubeconfig mode, ID covers the context flag and each file the loading
// rules would read, as absolute path, size, mtime in nanoseconds, device and
// inode (where the OS has them) and the SHA-256 of the content, or "absent".
// Any edit to those files therefore changes the identity and misses the cache.
// That is conservative: an edit to an unrelated context also misses.
//
// In server mode, Server is the URL, CA the SHA-256 of the CA file (or
// "insecure") and ID "token-sha256:<hex>" over the trimmed token. In-cluster
// mode does the same with KUBERNETES_SERVICE_HOST/PORT and the mounted files,
// so each rotation of the mounted token changes the identity.
func (o Options) Identity() (Identity, error) {
	switch o.Mode() {
	case ModeServer:
		return o.serverIdentity()
	case ModeInCluster:
		return o.inClusterIdentity()
	default:
		return o.kubeconfigIdentity(), nil
	}
}

func (o Options) kubeconfigIdentity() Identity {
	parts := []string{fmt.Sprintf("context=%q", o.Context)}
	for _, path := range o.kubeconfigFiles() {
		parts = append(parts, fingerprintFile(path))
	}
	return Identity{Source: ModeKubeconfig.String(), ID: strings.Join(parts, " ")}
}

// fingerprintFile describes the state of one kubeconfig file without parsing it.
func fingerprintFile(path string) string {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("file=%q absent", path)
	case err != nil:
		return fmt.Sprintf("file=%q unreadable", path)
	case !info.Mode().IsRegular():
		// NOTE: a pipe or device (such as KUBECONFIG=/dev/fd/3) is not read here,
		// because reading would consume it, so its content is not in the identity.
		return fmt.Sprintf("file=%q mode=%s", path, info.Mode())
	}

	fields := fmt.Sprintf("file=%q size=%d mtime=%d", path, info.Size(), info.ModTime().UnixNano())
	if inode := fileInode(info); inode != "" {
		fields += " inode=" + inode
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fields + " unreadable"
	}
	return fields + " sha256=" + sha256Hex(data)
}

func (o Options) serverIdentity() (Identity, error) {
	token, err := o.serverToken()
	if err != nil {
		return Identity{}, err
	}
	ca := "insecure"
	if o.CAFile != "" {
		data, err := readCAFile(flagCAFile, o.CAFile)
		if err != nil {
			return Identity{}, err
		}
		ca = "sha256:" + sha256Hex(data)
	}
	return Identity{
		Source: ModeServer.String(),
		Server: strings.TrimRight(o.Server, "/"),
		CA:     ca,
		ID:     tokenFingerprint(token),
	}, nil
}

func (o Options) inClusterIdentity() (Identity, error) {
	server, err := o.inClusterServer()
	if err != nil {
		return Identity{}, err
	}
	token, err := readTokenFile(inClusterTokenLabel, o.inClusterTokenFile())
	if err != nil {
		return Identity{}, err
	}
	ca, err := readCAFile(inClusterCALabel, o.inClusterCAFile())
	if err != nil {
		return Identity{}, err
	}
	return Identity{
		Source: ModeInCluster.String(),
		Server: server,
		CA:     "sha256:" + sha256Hex(ca),
		ID:     tokenFingerprint(token),
	}, nil
}

// tokenFingerprint identifies a bearer token without revealing it.
func tokenFingerprint(token string) string {
	return "token-sha256:" + sha256Hex([]byte(strings.TrimSpace(token)))
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
