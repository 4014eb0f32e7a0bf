package controlplane

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

// certificateLifetime is long enough for any test run or kept demo and short enough that a
// leaked temp directory holds nothing useful for long.
const certificateLifetime = 24 * time.Hour

// authority is a CA that lives only as long as one control plane.
type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// keyPair is a PEM-encoded certificate and its PEM-encoded private key.
type keyPair struct {
	certPEM []byte
	keyPEM  []byte
}

func newAuthority(commonName string) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: for %q: %w", commonName, err)
	}

	caCert, err := cert.NewSelfSignedCACert(cert.Config{CommonName: commonName}, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: for %q: %w", commonName, err)
	}
	return &authority{cert: caCert, key: key}, nil
}

func (a *authority) certPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.cert.Raw})
}

// issueServing returns a serving certificate valid for the loopback names only: the API
// server never listens anywhere else, so no other name belongs in it.
func (a *authority) issueServing() (keyPair, error) {
	template := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	return a.issue(template)
}

// issueClient returns a client certificate. kube-apiserver maps its common name to the user
// name and each organization to a group.
func (a *authority) issueClient(user string, groups []string) (keyPair, error) {
	template := &x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return a.issue(template)
}

func (a *authority) issue(template *x509.Certificate) (keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("generate key: for %q: %w", template.Subject.CommonName, err)
	}

	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return keyPair{}, fmt.Errorf("generate serial number: %w", err)
	}
	now := time.Now()
	template.SerialNumber = serial
	template.NotBefore = now.Add(-time.Minute)
	template.NotAfter = now.Add(certificateLifetime)
	template.KeyUsage = x509.KeyUsageDigitalSignature

	der, err := x509.CreateCertificate(rand.Reader, template, a.cert, key.Public(), a.key)
	if err != nil {
		return keyPair{}, fmt.Errorf("sign certificate: for %q: %w", template.Subject.CommonName, err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return keyPair{}, fmt.Errorf("encode key: for %q: %w", template.Subject.CommonName, err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return keyPair{certPEM: certPEM, keyPEM: keyPEM}, nil
}

// newServiceAccountSigningKey returns an ECDSA P-256 private key in PEM. kube-apiserver signs
// ServiceAccount tokens with it (ES256) and verifies them with the same file.
func newServiceAccountSigningKey() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ServiceAccount signing key: %w", err)
	}
	return keyutil.MarshalPrivateKeyToPEM(key)
}

// writePrivateFile writes data readable by the owner only, because the control plane's
// directory holds private keys.
func writePrivateFile(dir, name string, data []byte) (string, error) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", name, err)
	}
	return path, nil
}
