package bootstrap

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/klog/v2"
)

func TestRequestTokenShape(t *testing.T) {
	tests := []struct {
		name           string
		request        TokenRequest
		wantAudiences  any // decoded JSON value of spec.audiences
		wantExpiration any // decoded JSON value of spec.expirationSeconds
		wantBoundRef   any // decoded JSON value of spec.boundObjectRef
	}{
		{
			name:           "server defaults",
			request:        TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount},
			wantAudiences:  nil,
			wantExpiration: nil,
			wantBoundRef:   nil,
		},
		{
			name:           "empty audiences left out",
			request:        TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount, Audiences: []string{}},
			wantAudiences:  nil,
			wantExpiration: nil,
			wantBoundRef:   nil,
		},
		{
			name: "audiences and expiration",
			request: TokenRequest{
				Namespace: testNamespace, ServiceAccount: testServiceAccount,
				Audiences:         []string{"https://vault.example", "sts.example"},
				ExpirationSeconds: 7200,
			},
			wantAudiences:  []any{"https://vault.example", "sts.example"},
			wantExpiration: float64(7200),
			wantBoundRef:   nil,
		},
		{
			name: "bound pod with uid",
			request: TokenRequest{
				Namespace: testNamespace, ServiceAccount: testServiceAccount,
				BoundObject: &BoundObject{Kind: "Pod", Name: "web", UID: "8d3c6f0e-0000-4000-8000-000000000001"},
			},
			wantAudiences:  nil,
			wantExpiration: nil,
			wantBoundRef: map[string]any{
				"kind": "Pod", "apiVersion": "v1", "name": "web", "uid": "8d3c6f0e-0000-4000-8000-000000000001",
			},
		},
		{
			name: "bound secret without uid",
			request: TokenRequest{
				Namespace: testNamespace, ServiceAccount: testServiceAccount,
				BoundObject: &BoundObject{Kind: "Secret", Name: "anchor"},
			},
			wantAudiences:  nil,
			wantExpiration: nil,
			wantBoundRef:   map[string]any{"kind": "Secret", "apiVersion": "v1", "name": "anchor"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
			client := newServerClient(t, server, &outputSink{})

			if _, err := client.RequestToken(context.Background(), tt.request); err != nil {
				t.Fatalf("RequestToken: %v", err)
			}

			got := server.onlyRequest(t)
			if got.Method != http.MethodPost {
				t.Errorf("method = %s, want POST", got.Method)
			}
			if got.Path != tokenRequestPath {
				t.Errorf("path = %s, want %s", got.Path, tokenRequestPath)
			}
			if got.Authorization != "Bearer "+bootstrapToken {
				t.Errorf("Authorization header does not carry the bootstrap token")
			}
			if got.ContentType != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got.ContentType)
			}
			if got.UserAgent != "kube-sa-token/test" {
				t.Errorf("User-Agent = %q, want kube-sa-token/test", got.UserAgent)
			}

			var body map[string]any
			if err := json.Unmarshal(got.Body, &body); err != nil {
				t.Fatalf("request body is not JSON: %v", err)
			}
			if body["apiVersion"] != "authentication.k8s.io/v1" {
				t.Errorf("apiVersion = %v, want authentication.k8s.io/v1", body["apiVersion"])
			}
			if body["kind"] != "TokenRequest" {
				t.Errorf("kind = %v, want TokenRequest", body["kind"])
			}
			spec, _ := body["spec"].(map[string]any)
			if spec == nil {
				t.Fatalf("request body has no spec: %s", got.Body)
			}
			if !reflect.DeepEqual(spec["audiences"], tt.wantAudiences) {
				t.Errorf("spec.audiences = %#v, want %#v", spec["audiences"], tt.wantAudiences)
			}
			if !reflect.DeepEqual(spec["expirationSeconds"], tt.wantExpiration) {
				t.Errorf("spec.expirationSeconds = %#v, want %#v", spec["expirationSeconds"], tt.wantExpiration)
			}
			if !reflect.DeepEqual(spec["boundObjectRef"], tt.wantBoundRef) {
				t.Errorf("spec.boundObjectRef = %#v, want %#v", spec["boundObjectRef"], tt.wantBoundRef)
			}
		})
	}
}

func TestRequestTokenCappedLifetime(t *testing.T) {
	warning := "requested expiration of 31536000 seconds shortened to 86400 seconds"
	server := newAPIServer(t, respond(http.StatusCreated, readTestdata(t, "tokenrequest-capped.json"), map[string]string{
		"Warning": `299 - "` + warning + `"`,
		"Date":    "Fri, 01 Mar 2030 10:00:00 GMT",
	}), nil)
	sink := &outputSink{}
	client := newServerClient(t, server, sink)

	before := time.Now()
	token, err := client.RequestToken(context.Background(), TokenRequest{
		Namespace: testNamespace, ServiceAccount: testServiceAccount,
		Audiences: []string{"https://kubernetes.default.svc"}, ExpirationSeconds: 31536000,
	})
	after := time.Now()
	if err != nil {
		t.Fatalf("RequestToken: %v", err)
	}

	if token.Value != "FAKE.TOKEN.CAPPED" {
		t.Errorf("Value = %q, want the token from the response", token.Value)
	}
	if want := time.Date(2030, 3, 2, 10, 0, 0, 0, time.UTC); !token.ExpirationTimestamp.Equal(want) {
		t.Errorf("ExpirationTimestamp = %s, want %s", token.ExpirationTimestamp, want)
	}
	if token.ExpirationTimestamp.Location() != time.UTC {
		t.Errorf("ExpirationTimestamp location = %s, want UTC", token.ExpirationTimestamp.Location())
	}
	if want := time.Date(2030, 3, 1, 10, 0, 0, 0, time.UTC); !token.ServerNow.Equal(want) {
		t.Errorf("ServerNow = %s, want %s", token.ServerNow, want)
	}
	if token.RequestStart.Before(before) || token.RequestStart.After(after) {
		t.Errorf("RequestStart = %s, want between %s and %s", token.RequestStart, before, after)
	}
	if len(sink.warnings) != 1 || sink.warnings[0] != warning {
		t.Errorf("warnings = %q, want exactly [%q]", sink.warnings, warning)
	}
}

func TestRequestTokenServerNowSources(t *testing.T) {
	tests := []struct {
		name          string
		date          []string // nil removes the Date header
		creationStamp string
		want          time.Time
	}{
		{
			name:          "date header wins",
			date:          []string{"Fri, 01 Mar 2030 10:00:05 GMT"},
			creationStamp: `"2030-03-01T10:00:00Z"`,
			want:          time.Date(2030, 3, 1, 10, 0, 5, 0, time.UTC),
		},
		{
			name:          "creation timestamp without date",
			date:          nil,
			creationStamp: `"2030-03-01T10:00:00Z"`,
			want:          time.Date(2030, 3, 1, 10, 0, 0, 0, time.UTC),
		},
		{
			name:          "unparsable date falls back",
			date:          []string{"yesterday"},
			creationStamp: `"2030-03-01T10:00:00Z"`,
			want:          time.Date(2030, 3, 1, 10, 0, 0, 0, time.UTC),
		},
		{
			name:          "neither source",
			date:          nil,
			creationStamp: `null`,
			want:          time.Time{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1",` +
				`"metadata":{"creationTimestamp":` + tt.creationStamp + `},` +
				`"status":{"token":"FAKE.JWT.SECRET","expirationTimestamp":"2030-03-01T11:00:00Z"}}`
			server := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header()["Date"] = tt.date // a nil value stops net/http from adding one
				w.WriteHeader(http.StatusCreated)
				w.Write([]byte(body))
			}, nil)
			client := newServerClient(t, server, &outputSink{})

			token, err := client.RequestToken(context.Background(), TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount})
			if err != nil {
				t.Fatalf("RequestToken: %v", err)
			}
			if !token.ServerNow.Equal(tt.want) {
				t.Errorf("ServerNow = %s, want %s", token.ServerNow, tt.want)
			}
		})
	}
}

func TestRequestTokenStatusErrors(t *testing.T) {
	boundPod := &BoundObject{Kind: "Pod", Name: "web", UID: "1111"}
	boundNode := &BoundObject{Kind: "Node", Name: "node-1"}
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		headers     map[string]string
		bound       *BoundObject
		wantCode    int
		wantParts   []string
	}{
		{
			name: "401 unauthorized", status: 401, body: readTestdata(t, "status-401.json"),
			wantCode: ExitUnauthorized,
			wantParts: []string{
				"bootstrap credentials rejected (401 Unauthorized)", "server https://127.0.0.1:",
				flagTokenFile, TokenEnv,
			},
		},
		{
			name: "403 forbidden", status: 403, body: readTestdata(t, "status-403-forbidden.json"),
			wantCode: ExitForbidden,
			wantParts: []string{
				`User "system:serviceaccount:ops:minter" cannot create resource "serviceaccounts/token"`,
				"team-a/deployer", "server https://127.0.0.1:",
				`verb "create" on resource "serviceaccounts/token" in namespace "team-a", resourceName "deployer"`,
				"kubectl create role kube-sa-token-deployer --verb=create --resource=serviceaccounts/token --resource-name=deployer -n team-a",
				"kubectl create rolebinding kube-sa-token-deployer --role=kube-sa-token-deployer --serviceaccount=ops:minter -n team-a",
			},
		},
		{
			name: "403 from a human user", status: 403,
			body:      `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"serviceaccounts \"deployer\" is forbidden: User \"jane@example.com\" cannot create resource \"serviceaccounts/token\" in API group \"\" in the namespace \"team-a\"","reason":"Forbidden","code":403}`,
			wantCode:  ExitForbidden,
			wantParts: []string{"--role=kube-sa-token-deployer --user=jane@example.com -n team-a"},
		},
		{
			name: "403 without a status body", status: 403, contentType: "text/plain", body: "forbidden by proxy",
			wantCode:  ExitForbidden,
			wantParts: []string{"(403 Forbidden)", "--user=BOOTSTRAP_USER", "kubectl auth whoami"},
		},
		{
			name: "404 service account", status: 404, body: readTestdata(t, "status-404-sa-missing.json"),
			wantCode:  ExitNotFound,
			wantParts: []string{"service account team-a/deployer not found", "kubectl create serviceaccount deployer -n team-a"},
		},
		{
			name: "404 bound pod", status: 404, bound: boundPod,
			body:      `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"web\" not found","reason":"NotFound","details":{"name":"web","kind":"pods"},"code":404}`,
			wantCode:  ExitNotFound,
			wantParts: []string{"bound object Pod team-a/web not found"},
		},
		{
			name: "404 bound node", status: 404, bound: boundNode,
			body:      `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"nodes \"node-1\" not found","reason":"NotFound","details":{"name":"node-1","kind":"nodes"},"code":404}`,
			wantCode:  ExitNotFound,
			wantParts: []string{"bound object Node node-1 not found"},
		},
		{
			name: "404 without a status body", status: 404, contentType: "text/plain", body: "404 page not found",
			wantCode:  ExitNotFound,
			wantParts: []string{"404 Not Found", "check that https://127.0.0.1:"},
		},
		{
			name: "400 pod of another service account", status: 400, bound: boundPod,
			body:      `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"cannot bind token for serviceaccount \"deployer\" to pod running with different serviceaccount name.","reason":"BadRequest","code":400}`,
			wantCode:  ExitUsage,
			wantParts: []string{"bound object Pod team-a/web runs as another service account than deployer", `spec.serviceAccountName is "deployer"`},
		},
		{
			name: "400 node binding disabled", status: 400, bound: boundNode,
			body:      `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"cannot bind token to a Node object as the \"ServiceAccountTokenNodeBinding\" feature-gate is disabled","reason":"BadRequest","code":400}`,
			wantCode:  ExitUsage,
			wantParts: []string{"cannot bind a token to Node node-1", "ServiceAccountTokenNodeBinding"},
		},
		{
			name: "409 bound object uid mismatch", status: 409, bound: boundPod,
			body:      `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Operation cannot be fulfilled on Pod \"web\": the UID in the bound object reference (1111) does not match the UID in record. The object might have been deleted and then recreated","reason":"Conflict","details":{"name":"web","kind":"Pod"},"code":409}`,
			wantCode:  ExitUsage,
			wantParts: []string{"bound object Pod team-a/web has another UID than the requested 1111", "pass its current UID"},
		},
		{
			name: "422 expiration", status: 422, body: readTestdata(t, "status-422-expiration.json"),
			wantCode:  ExitUsage,
			wantParts: []string{"is invalid (422", "spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes"},
		},
		{
			name: "429 is not retried", status: 429, headers: map[string]string{"Retry-After": "1"},
			body:      `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too many requests","reason":"TooManyRequests","code":429}`,
			wantCode:  ExitFailure,
			wantParts: []string{"HTTP 429 Too Many Requests", "too many requests"},
		},
		{
			name: "503 is not retried", status: 503, headers: map[string]string{"Retry-After": "1"}, contentType: "text/plain",
			body:      "upstream down",
			wantCode:  ExitUnreachable,
			wantParts: []string{"HTTP 503 Service Unavailable", "unavailable, so try again later"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := map[string]string{}
			for name, value := range tt.headers {
				headers[name] = value
			}
			if tt.contentType != "" {
				headers["Content-Type"] = tt.contentType
			}
			server := newAPIServer(t, respond(tt.status, tt.body, headers), nil)
			client := newServerClient(t, server, &outputSink{})

			start := time.Now()
			_, err := client.RequestToken(context.Background(), TokenRequest{
				Namespace: testNamespace, ServiceAccount: testServiceAccount, ExpirationSeconds: 600, BoundObject: tt.bound,
			})
			if err == nil {
				t.Fatal("RequestToken succeeded, want an error")
			}
			if got := exitCodeOf(err); got != tt.wantCode {
				t.Errorf("exit code = %d, want %d (error: %v)", got, tt.wantCode, err)
			}
			for _, part := range tt.wantParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error does not contain %q:\n%s", part, err)
				}
			}
			if got := len(server.Requests()); got != 1 {
				t.Errorf("server received %d requests, want exactly 1 (no retry)", got)
			}
			if elapsed := time.Since(start); elapsed > 900*time.Millisecond {
				t.Errorf("RequestToken took %s, want no wait for Retry-After", elapsed)
			}
		})
	}
}

func TestRequestTokenForbiddenNamesContext(t *testing.T) {
	server := newAPIServer(t, respond(403, readTestdata(t, "status-403-forbidden.json"), nil), nil)
	kubeconfig := writeKubeconfig(t, kubeconfigFor(server, "ci-minter", map[string]*clientcmdapi.AuthInfo{
		"ci-minter": {Token: bootstrapToken},
	}))
	client, err := Options{Kubeconfig: kubeconfig, Getenv: envMap(nil)}.NewClient()
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}

	_, err = client.RequestToken(context.Background(), TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount})

	if got := exitCodeOf(err); got != ExitForbidden {
		t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitForbidden, err)
	}
	for _, part := range []string{`context "ci-minter"`, kubeconfig, testBootstrapUser, "--serviceaccount=ops:minter"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error does not contain %q:\n%s", part, err)
		}
	}
}

func TestRequestTokenMalformedAnswers(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantParts []string
	}{
		{
			name:      "truncated json",
			body:      `{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","status":{"token":"FAKE.JWT.SECRET"`,
			wantParts: []string{"HTTP 201 response is not a valid TokenRequest"},
		},
		{
			name:      "kind missing",
			body:      `{"apiVersion":"authentication.k8s.io/v1","status":{"token":"FAKE.JWT.SECRET","expirationTimestamp":"2030-03-01T11:00:00Z"}}`,
			wantParts: []string{"HTTP 201 response is not a valid TokenRequest"},
		},
		{
			name:      "empty token",
			body:      `{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","status":{"token":"","expirationTimestamp":"2030-03-01T11:00:00Z"}}`,
			wantParts: []string{"no status.token"},
		},
		{
			name:      "blank token",
			body:      `{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","status":{"token":" ","expirationTimestamp":"2030-03-01T11:00:00Z"}}`,
			wantParts: []string{"no status.token"},
		},
		{
			name:      "token with a newline",
			body:      `{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","status":{"token":"FAKE.JWT\nSECRET","expirationTimestamp":"2030-03-01T11:00:00Z"}}`,
			wantParts: []string{"white space or control characters"},
		},
		{
			name:      "zero expiration",
			body:      `{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","status":{"token":"FAKE.JWT.SECRET"}}`,
			wantParts: []string{"no status.expirationTimestamp"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := newAPIServer(t, respond(http.StatusCreated, tt.body, nil), nil)
			client := newServerClient(t, server, &outputSink{})

			_, err := client.RequestToken(context.Background(), TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount})

			if got := exitCodeOf(err); got != ExitFailure {
				t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitFailure, err)
			}
			for _, part := range tt.wantParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error does not contain %q:\n%s", part, err)
				}
			}
			if strings.Contains(err.Error(), mintedToken) {
				t.Errorf("error contains the minted token:\n%s", err)
			}
		})
	}
}

func TestRequestTokenSlowServer(t *testing.T) {
	server := newAPIServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
			respond(http.StatusCreated, mintedResponse, nil)(w, r)
		case <-r.Context().Done():
		}
	}, nil)
	client := newServerClient(t, server, &outputSink{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()

	start := time.Now()
	_, err := client.RequestToken(ctx, TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount})
	elapsed := time.Since(start)

	if got := exitCodeOf(err); got != ExitUnreachable {
		t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitUnreachable, err)
	}
	if elapsed > time.Second {
		t.Errorf("RequestToken returned after %s, want about 200ms", elapsed)
	}
	for _, part := range []string{"timed out (after 200ms)", server.URL} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error does not contain %q:\n%s", part, err)
		}
	}
}

func TestRequestTokenUnreachable(t *testing.T) {
	otherCA := newTestCA(t)
	tests := []struct {
		name      string
		options   func(t *testing.T, server *apiServer) Options
		wantParts []string
	}{
		{
			name: "connection refused",
			options: func(t *testing.T, server *apiServer) Options {
				listener, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatalf("listen: %v", err)
				}
				address := listener.Addr().String()
				listener.Close()
				options := serverOptions(t, server, &outputSink{})
				options.Server = "https://" + address
				return options
			},
			wantParts: []string{"cannot reach the API server (server https://127.0.0.1:", "connection refused", "check the server URL"},
		},
		{
			name: "unknown certificate authority",
			options: func(t *testing.T, server *apiServer) Options {
				options := serverOptions(t, server, &outputSink{})
				options.CAFile = writeFile(t, "other-ca.crt", string(otherCA.certPEM))
				return options
			},
			wantParts: []string{"cannot verify the TLS certificate", "check the CA", flagCAFile},
		},
		{
			name: "host name not in certificate",
			options: func(t *testing.T, server *apiServer) Options {
				options := serverOptions(t, server, &outputSink{})
				options.Server = strings.Replace(server.URL, "127.0.0.1", "localhost", 1)
				return options
			},
			wantParts: []string{"does not match its host name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
			client, err := tt.options(t, server).NewClient()
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}

			_, err = client.RequestToken(context.Background(), TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount})

			if got := exitCodeOf(err); got != ExitUnreachable {
				t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitUnreachable, err)
			}
			for _, part := range tt.wantParts {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error does not contain %q:\n%s", part, err)
				}
			}
			if got := len(server.Requests()); got != 0 {
				t.Errorf("server received %d requests, want 0", got)
			}
		})
	}
}

func TestRequestTokenRejectsInvalidRequest(t *testing.T) {
	tests := []struct {
		name     string
		request  TokenRequest
		wantPart string
	}{
		{"empty namespace", TokenRequest{ServiceAccount: testServiceAccount}, `invalid namespace ""`},
		{"namespace with slash", TokenRequest{Namespace: "team-a/../x", ServiceAccount: testServiceAccount}, `invalid namespace "team-a/../x"`},
		{"empty service account", TokenRequest{Namespace: testNamespace}, `invalid service account name ""`},
		{"negative expiration", TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount, ExpirationSeconds: -5}, "invalid expirationSeconds -5"},
		{"empty audience", TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount, Audiences: []string{"a", " "}}, `invalid audience " "`},
		{"unknown bound kind", TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount, BoundObject: &BoundObject{Kind: "Deployment", Name: "web"}}, `invalid bound object kind "Deployment": use one of Pod, Secret, Node`},
		{"bound object without name", TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount, BoundObject: &BoundObject{Kind: "Pod"}}, `invalid bound object name ""`},
	}
	server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
	client := newServerClient(t, server, &outputSink{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client.RequestToken(context.Background(), tt.request)

			if got := exitCodeOf(err); got != ExitUsage {
				t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitUsage, err)
			}
			if !strings.Contains(err.Error(), tt.wantPart) {
				t.Errorf("error does not contain %q:\n%s", tt.wantPart, err)
			}
		})
	}
	if got := len(server.Requests()); got != 0 {
		t.Errorf("server received %d requests, want 0", got)
	}
}

// captureKlog raises klog's global verbosity to 10 and collects its output
// until the test ends, so a test can check what client-go logs.
func captureKlog(t *testing.T) *bytes.Buffer {
	t.Helper()
	flags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(flags)
	for name, value := range map[string]string{"v": "10", "logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL"} {
		if err := flags.Set(name, value); err != nil {
			t.Fatalf("set klog flag %s: %v", name, err)
		}
	}
	var buffer bytes.Buffer
	klog.SetOutput(&buffer)
	t.Cleanup(func() {
		flags.Set("v", "0")
		flags.Set("logtostderr", "true")
		klog.SetOutput(os.Stderr)
	})
	return &buffer
}

func TestRequestTokenNeverLeaksTokens(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		headers map[string]string
	}{
		{"success", http.StatusCreated, mintedResponse, map[string]string{"Warning": `299 - "minted FAKE.JWT.SECRET for FAKEBOOT.abcdef0123456789"`}},
		{"401", http.StatusUnauthorized, readTestdata(t, "status-401.json"), nil},
		{"403", http.StatusForbidden, readTestdata(t, "status-403-forbidden.json"), nil},
		{"malformed 2xx body", http.StatusCreated, `{"kind":"TokenRequest","status":{"token":"FAKE.JWT.SECRET"`, nil},
		{"2xx body missing kind", http.StatusOK, `{"apiVersion":"authentication.k8s.io/v1","status":{"token":"FAKE.JWT.SECRET","expirationTimestamp":"2030-03-01T11:00:00Z"}}`, nil},
		{"500 text body echoing secrets", http.StatusInternalServerError, `panic: token FAKE.JWT.SECRET from FAKEBOOT.abcdef0123456789`, map[string]string{"Content-Type": "text/plain"}},
		{"403 status echoing the bootstrap token", http.StatusForbidden, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"token FAKEBOOT.abcdef0123456789 may not create","code":403}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			klogOutput := captureKlog(t)
			server := newAPIServer(t, respond(tt.status, tt.body, tt.headers), nil)
			sink := &outputSink{}
			client := newServerClient(t, server, sink)

			token, err := client.RequestToken(context.Background(), TokenRequest{Namespace: testNamespace, ServiceAccount: testServiceAccount})
			klog.Flush()

			if tt.name == "success" && (err != nil || token.Value != mintedToken) {
				t.Fatalf("RequestToken = %q, %v; want the minted token", token.Value, err)
			}
			if tt.name != "success" && err == nil {
				t.Fatal("RequestToken succeeded, want an error")
			}
			for _, secret := range []string{bootstrapToken, mintedToken} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("error contains %q:\n%s", secret, err)
				}
				if strings.Contains(sink.all(), secret) {
					t.Errorf("Warn or Logf received %q:\n%s", secret, sink.all())
				}
				if strings.Contains(klogOutput.String(), secret) {
					t.Errorf("klog output contains %q", secret)
				}
			}
		})
	}
}

// TestKlogCaptureSeesClientGoBodies shows that captureKlog would catch a
// leak: without the discarding logger that RequestToken puts in the context,
// client-go logs the response body, token included.
func TestKlogCaptureSeesClientGoBodies(t *testing.T) {
	klogOutput := captureKlog(t)
	server := newAPIServer(t, respond(http.StatusCreated, mintedResponse, nil), nil)
	client := newServerClient(t, server, &outputSink{})

	client.rest.Post().AbsPath(tokenRequestPath).Body([]byte(`{}`)).Do(context.Background())
	klog.Flush()

	if !strings.Contains(klogOutput.String(), mintedToken) {
		t.Fatalf("klog output at verbosity 10 lacks the response body; the leak check in TestRequestTokenNeverLeaksTokens would be blind:\n%s", klogOutput)
	}
}

func TestRequestTokenAnonymousForbidden(t *testing.T) {
	body := `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"serviceaccounts \"deployer\" is forbidden: User \"system:anonymous\" cannot create resource \"serviceaccounts/token\" in API group \"\" in the namespace \"team-a\"","reason":"Forbidden","details":{"name":"deployer","kind":"serviceaccounts"},"code":403}`
	server := newAPIServer(t, respond(http.StatusForbidden, body, nil), nil)
	client := newServerClient(t, server, &outputSink{})

	_, err := client.RequestToken(context.Background(), TokenRequest{Namespace: "team-a", ServiceAccount: "deployer", ExpirationSeconds: 3600})

	if got := exitCodeOf(err); got != ExitUnauthorized {
		t.Fatalf("exit code = %d, want %d (error: %v)", got, ExitUnauthorized, err)
	}
	if !strings.Contains(err.Error(), "anonymous (system:anonymous)") {
		t.Errorf("error does not say the request was anonymous:\n%s", err)
	}
	if strings.Contains(err.Error(), "kubectl create rolebinding") {
		t.Errorf("error suggests granting system:anonymous:\n%s", err)
	}
}
