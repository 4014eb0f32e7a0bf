package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientauthv1 "k8s.io/client-go/pkg/apis/clientauthentication/v1"
	clientauthv1beta1 "k8s.io/client-go/pkg/apis/clientauthentication/v1beta1"
)

// EncodeCredential returns the ExecCredential of apiVersion carrying token and
// expirationTimestamp, as one line of JSON. metav1.Time prints the timestamp
// in UTC and drops fractional seconds, so callers pass a time that is already
// truncated to the second.
func EncodeCredential(apiVersion, token string, expirationTimestamp time.Time) ([]byte, error) {
	expiry := metav1.NewTime(expirationTimestamp.UTC())

	var cred any
	switch apiVersion {
	case APIVersionV1:
		cred = &clientauthv1.ExecCredential{
			TypeMeta: metav1.TypeMeta{Kind: "ExecCredential", APIVersion: apiVersion},
			Status:   &clientauthv1.ExecCredentialStatus{Token: token, ExpirationTimestamp: &expiry},
		}
	case APIVersionV1beta1:
		cred = &clientauthv1beta1.ExecCredential{
			TypeMeta: metav1.TypeMeta{Kind: "ExecCredential", APIVersion: apiVersion},
			Status:   &clientauthv1beta1.ExecCredentialStatus{Token: token, ExpirationTimestamp: &expiry},
		}
	default:
		return nil, CheckAPIVersion(apiVersion)
	}

	out, err := json.Marshal(cred)
	if err != nil {
		return nil, fmt.Errorf("encode ExecCredential: %w", err)
	}
	return append(out, '\n'), nil
}

// writeAll writes b with a single Write call so stdout receives the whole
// ExecCredential or, on error, as little as the OS let through.
func writeAll(w io.Writer, b []byte) error {
	n, err := w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("write ExecCredential to stdout: %w", err)
	}
	return nil
}
