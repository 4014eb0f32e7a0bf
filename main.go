// Command kube-sa-token is a client-go exec credential plugin that prints a
// short-lived, bound ServiceAccount token minted through the TokenRequest API.
package main

import (
	"os"
)

// Set through -ldflags -X at release time; see .goreleaser.yaml and release.mk.
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
