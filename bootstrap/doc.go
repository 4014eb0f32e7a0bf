// Package bootstrap owns the bootstrap identity: the credentials kube-sa-token
// uses to call the TokenRequest API. It describes that identity for messages,
// fingerprints it cheaply for the cache key (Options.Identity), builds the
// client-go rest.Config for it (Options.NewClient) and sends the TokenRequest
// (Client.RequestToken).
//
// The bootstrap identity comes from one of three sources:
//
//   - a kubeconfig context (the default), loaded with clientcmd, so bearer
//     tokens, client certificates, exec plugins and the oidc auth-provider work;
//   - a server URL with a bearer token (from a file or KUBE_SA_TOKEN_BOOTSTRAP_TOKEN)
//     and a CA file, for CI runners;
//   - the in-cluster config of the pod the program runs in.
//
// The package never touches the disk cache, never writes to stdout, never reads
// stdin and never configures klog. It keeps tokens (bootstrap or minted) out of
// errors, warnings and log lines: text that comes from client-go or the server
// passes through a redactor that removes the known tokens and anything shaped
// like a JWT or an Authorization header. A response body is quoted only as the
// message of a Status object.
//
// It deliberately avoids k8s.io/client-go/kubernetes, because initializing the
// full clientset's packages costs time on every run, and one request needs only
// rest, clientcmd and the authentication.k8s.io/v1 types.
package bootstrap
