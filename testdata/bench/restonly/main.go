// Command restonly is a reference point of the cache-hit benchmark: the
// minimal program plus a link to k8s.io/client-go/rest, whose package init and
// page faults every client-go binary pays before main runs.
package main

import (
	"fmt"
	"os"

	"k8s.io/client-go/rest"
)

func main() {
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(b)
	if len(os.Args) > 2 {
		// Never true in the benchmark; it keeps the linker from dropping rest.
		_, _ = rest.RESTClientFor(&rest.Config{})
	}
}
