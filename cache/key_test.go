package cache

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func sampleInputs() Inputs {
	return Inputs{
		BootstrapSource:   "kubeconfig",
		BootstrapServer:   "https://127.0.0.1:6443",
		BootstrapCA:       "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
		BootstrapIdentity: "kubeconfig=/home/dev/.kube/config@1700000000;context=ops",
		Namespace:         "team-a",
		ServiceAccount:    "deployer",
		Audiences:         []string{"https://kubernetes.default.svc", "vault"},
		ExpirationSeconds: 3600,
		BoundObjectKind:   "Secret",
		BoundObjectName:   "deployer-binding",
		BoundObjectUID:    "8f1c7a2e-5b0d-4a61-9a52-0c7b3e2f1d44",
		ClusterServer:     "https://127.0.0.1:7443",
	}
}

func TestKeyChangesWithEachField(t *testing.T) {
	base := sampleInputs()
	baseKey := base.Key()

	tests := []struct {
		field  string
		mutate func(*Inputs)
	}{
		{"BootstrapSource", func(in *Inputs) { in.BootstrapSource = "server" }},
		{"BootstrapServer", func(in *Inputs) { in.BootstrapServer = "https://127.0.0.1:6444" }},
		{"BootstrapCA", func(in *Inputs) { in.BootstrapCA = "sha256:00" }},
		{"BootstrapIdentity", func(in *Inputs) { in.BootstrapIdentity += ";context=dev" }},
		{"Namespace", func(in *Inputs) { in.Namespace = "team-b" }},
		{"ServiceAccount", func(in *Inputs) { in.ServiceAccount = "reader" }},
		{"Audiences", func(in *Inputs) { in.Audiences = []string{"vault"} }},
		{"ExpirationSeconds", func(in *Inputs) { in.ExpirationSeconds = 7200 }},
		{"BoundObjectKind", func(in *Inputs) { in.BoundObjectKind = "Pod" }},
		{"BoundObjectName", func(in *Inputs) { in.BoundObjectName = "other" }},
		{"BoundObjectUID", func(in *Inputs) { in.BoundObjectUID = "00000000-0000-0000-0000-000000000000" }},
		{"ClusterServer", func(in *Inputs) { in.ClusterServer = "" }},
	}

	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			in := sampleInputs()
			tt.mutate(&in)
			if got := in.Key(); got == baseKey {
				t.Errorf("Key() after changing %s = %s, same as before the change", tt.field, got)
			}
		})
		covered[tt.field] = true
	}

	// A field added to Inputs must also be added to Key and to this table.
	inputsType := reflect.TypeFor[Inputs]()
	for i := range inputsType.NumField() {
		if name := inputsType.Field(i).Name; !covered[name] {
			t.Errorf("Inputs.%s has no case in this test: add one, and add the field to Key", name)
		}
	}
}

func TestKeySeparatesAdjacentFields(t *testing.T) {
	tests := []struct {
		name string
		a, b Inputs
	}{
		{
			name: "namespace and ServiceAccount boundary",
			a:    Inputs{Namespace: "team-a", ServiceAccount: "deployer"},
			b:    Inputs{Namespace: "team-ad", ServiceAccount: "eployer"},
		},
		{
			name: "one audience containing a comma",
			a:    Inputs{Audiences: []string{"a,b"}},
			b:    Inputs{Audiences: []string{"a", "b"}},
		},
		{
			name: "audience moved into the next field",
			a:    Inputs{Audiences: []string{"x"}, BoundObjectKind: ""},
			b:    Inputs{Audiences: nil, BoundObjectKind: "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.a.Key() == tt.b.Key() {
				t.Errorf("Key() is equal for %+v and %+v", tt.a, tt.b)
			}
		})
	}
}

func TestKeyIgnoresAudienceOrder(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
	}{
		{"two audiences swapped", []string{"vault", "https://kubernetes.default.svc"}, []string{"https://kubernetes.default.svc", "vault"}},
		{"three audiences rotated", []string{"c", "a", "b"}, []string{"a", "b", "c"}},
		{"nil and empty", nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := sampleInputs(), sampleInputs()
			a.Audiences, b.Audiences = tt.a, tt.b
			if a.Key() != b.Key() {
				t.Errorf("Key() differs for audiences %q and %q", tt.a, tt.b)
			}
		})
	}
}

func TestKeyLeavesAudiencesUnchanged(t *testing.T) {
	in := sampleInputs()
	in.Audiences = []string{"zeta", "alpha", "mu"}
	want := slices.Clone(in.Audiences)

	_ = in.Key()

	if !slices.Equal(in.Audiences, want) {
		t.Errorf("Audiences after Key() = %q, want %q", in.Audiences, want)
	}
}

func TestKeyHidesSecretLookingIdentity(t *testing.T) {
	secrets := []string{"FAKEBOOT.abcdef0123456789", "FAKE.JWT.SECRET"}
	in := sampleInputs()
	in.BootstrapIdentity = secrets[0]
	in.Audiences = []string{secrets[1]}
	key := in.Key()

	if !isKey(key) {
		t.Fatalf("Key() = %q, want 64 lowercase hex digits", key)
	}

	store := New(t.TempDir())
	if err := store.Put(key, sampleEntry(in)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	names := dirNames(t, store.Dir())
	if !slices.Contains(names, key+".json") {
		t.Fatalf("cache directory contains %q, want %s.json", names, key)
	}

	for _, secret := range secrets {
		if strings.Contains(key, secret) {
			t.Errorf("Key() = %q contains %q", key, secret)
		}
		for _, name := range names {
			if strings.Contains(name, secret) {
				t.Errorf("file name %q contains %q", name, secret)
			}
		}
	}
}

func TestIsKeyRejectsPathLikeKeys(t *testing.T) {
	valid := sampleInputs().Key()
	tests := []struct {
		key  string
		want bool
	}{
		{valid, true},
		{strings.ToUpper(valid), false},
		{valid[:63], false},
		{valid + "0", false},
		{"../" + valid[3:], false},
		{"", false},
	}
	for _, tt := range tests {
		if got := isKey(tt.key); got != tt.want {
			t.Errorf("isKey(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}
