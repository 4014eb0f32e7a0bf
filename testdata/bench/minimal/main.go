// Command minimal is the baseline of the cache-hit benchmark: a Go program
// that reads one small file and prints it, and does nothing else.
package main

import (
	"fmt"
	"os"
)

func main() {
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Stdout.Write(b)
}
