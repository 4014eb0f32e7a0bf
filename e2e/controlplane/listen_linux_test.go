package controlplane

import (
	"net"
	"os"
	"slices"
	"testing"
)

func TestParseProcAddress(t *testing.T) {
	tests := []struct {
		text    string
		want    string
		wantErr bool
	}{
		{text: "0100007F:1F90", want: "127.0.0.1:8080"},
		{text: "00000000:0050", want: "0.0.0.0:80"},
		{text: "00000000000000000000000001000000:0016", want: "[::1]:22"},
		{text: "0000000000000000FFFF00000100007F:1F90", want: "127.0.0.1:8080"},
		{text: "00000000000000000000000000000000:01BB", want: "[::]:443"},
		{text: "0100007F", wantErr: true},
		{text: "0100007:1F90", wantErr: true},
		{text: "0100007F:XYZ", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := parseProcAddress(tt.text)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseProcAddress(%q) = %s, want an error", tt.text, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("parseProcAddress(%q) = %s, want %s", tt.text, got, tt.want)
			}
		})
	}
}

func TestListeningAddressesFindsOwnListener(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()

	addresses, err := ListeningAddresses(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, address := range addresses {
		found = append(found, address.String())
	}
	if !slices.Contains(found, listener.Addr().String()) {
		t.Errorf("ListeningAddresses = %v, want it to include %s", found, listener.Addr())
	}
}

func TestLastLines(t *testing.T) {
	tests := []struct {
		data  string
		lines int
		want  string
	}{
		{data: "a\nb\nc\n", lines: 2, want: "b\nc"},
		{data: "a\nb\nc", lines: 2, want: "b\nc"},
		{data: "a\nb\nc\n", lines: 5, want: "a\nb\nc"},
		{data: "", lines: 3, want: ""},
		{data: "only\n", lines: 1, want: "only"},
	}
	for _, tt := range tests {
		if got := lastLines([]byte(tt.data), tt.lines); got != tt.want {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tt.data, tt.lines, got, tt.want)
		}
	}
}
