// Command hitpath measures a kube-sa-token cache hit as a whole process,
// side by side with a minimal Go program that reads a small file and prints
// it, and with that program linked to client-go/rest. It builds them, mints
// one token from an in-process fake API server to fill the cache, then runs
// the commands alternately. It reports wall time, and peak RSS through GNU
// time. Other commands can join the comparison with -extra.
//
//	go run ./testdata/bench/hitpath -runs 500
package main

import (
	"bytes"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

func main() {
	runs := flag.Int("runs", 300, "runs of each command")
	extra := flag.String("extra", "", "another command to time alongside, as one shell-free string split on spaces")
	keep := flag.Bool("keep", false, "keep the work directory and print the cache-hit command, for profiling it with other tools")
	flag.Parse()
	log.SetFlags(0)

	work, err := os.MkdirTemp("", "kube-sa-token-bench-")
	if err != nil {
		log.Fatal(err)
	}
	if !*keep {
		defer os.RemoveAll(work)
	}

	plugin := build(work, "kube-sa-token", ".")
	minimal := build(work, "minimal", "./testdata/bench/minimal")
	restOnly := build(work, "restonly", "./testdata/bench/restonly")

	server := fakeAPIServer()
	defer server.Close()
	caFile := filepath.Join(work, "ca.crt")
	must(os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw}), 0o600))

	cacheDir := filepath.Join(work, "cache")
	env := append(os.Environ(),
		"KUBE_SA_TOKEN_CACHE_DIR="+cacheDir,
		"KUBE_SA_TOKEN_BOOTSTRAP_TOKEN=bench-bootstrap-token",
		`KUBERNETES_EXEC_INFO={"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`,
	)
	pluginCmd := []string{plugin, "token", "--namespace", "team-a", "--service-account", "deployer",
		"--bootstrap-server", server.URL, "--bootstrap-certificate-authority", caFile}

	// Fill the cache, then check that the next run is a hit.
	if _, err := runOnce(pluginCmd, env); err != nil {
		log.Fatalf("first plugin run: %v", err)
	}
	entries, _ := filepath.Glob(filepath.Join(cacheDir, "*.json"))
	if len(entries) != 1 {
		log.Fatalf("cache contains %d entries after one run, expected 1", len(entries))
	}
	minimalCmd := []string{minimal, entries[0]}
	if *keep {
		fmt.Printf("env KUBE_SA_TOKEN_CACHE_DIR=%s KUBE_SA_TOKEN_BOOTSTRAP_TOKEN=bench-bootstrap-token %s\n", cacheDir, strings.Join(pluginCmd, " "))
	}

	cmds := []namedCmd{
		{"minimal Go program", minimalCmd},
		{"minimal + client-go/rest", []string{restOnly, entries[0]}},
		{"kube-sa-token version", []string{plugin, "version"}},
		{"kube-sa-token cache hit", pluginCmd},
	}
	if *extra != "" {
		cmds = append(cmds, namedCmd{*extra, strings.Fields(*extra)})
	}
	samples := make([][]sample, len(cmds))
	for i := 0; i < *runs; i++ {
		for j, c := range cmds {
			s, err := runOnce(c.argv, env)
			if err != nil {
				log.Fatalf("%s: %v", c.name, err)
			}
			samples[j] = append(samples[j], s)
		}
	}
	if n := server.Config.Handler.(*counter).n.Load(); n != 1 {
		log.Fatalf("the fake API server saw %d TokenRequests, want 1: the timed runs were not all cache hits", n)
	}

	rss := make([]int64, len(cmds))
	for j, c := range cmds {
		if rss[j], err = peakRSS(c.argv, env, 20); err != nil {
			log.Fatalf("%s: %v", c.name, err)
		}
	}

	fmt.Printf("machine: %s/%s, %d CPUs, %s; runs: %d each, alternating\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), *runs)
	fmt.Printf("%-28s %10s %10s %10s %14s %8s\n", "command", "median", "mean", "p90", "peak RSS", "ratio")
	base := median(samples[0])
	for j, c := range cmds {
		med := median(samples[j])
		fmt.Printf("%-28s %10s %10s %10s %10.1f MiB %7.2fx\n", c.name, med.Round(time.Microsecond), mean(samples[j]).Round(time.Microsecond),
			percentile(samples[j], 0.9).Round(time.Microsecond), float64(rss[j])/1024, float64(med)/float64(base))
	}
}

type namedCmd struct {
	name string
	argv []string
}

type sample struct {
	wall time.Duration
}

func runOnce(argv, env []string) (sample, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("%v: %s", err, stderr.String())
	}
	return sample{wall: wall}, nil
}

// gnuTime is GNU time, which reports a child's peak RSS. The rusage of a
// child started from this Go process is no use for that: Linux keeps the
// parent's high-water mark in a child that exec'd after vfork.
const gnuTime = "/usr/bin/time"

// peakRSS returns the largest peak RSS in KiB over runs of argv, measured by
// GNU time, or 0 when GNU time is not installed (Debian package "time").
func peakRSS(argv, env []string, runs int) (int64, error) {
	if _, err := os.Stat(gnuTime); err != nil {
		return 0, nil
	}
	var peak int64
	for i := 0; i < runs; i++ {
		cmd := exec.Command(gnuTime, append([]string{"-f", "%M"}, argv...)...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("%v: %s", err, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		kib, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse GNU time output %q: %v", stderr.String(), err)
		}
		peak = max(peak, kib)
	}
	return peak, nil
}

func build(dir, name, pkg string) string {
	out := filepath.Join(dir, name)
	// The flags of a release build: static, stripped.
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatalf("build %s: %v", pkg, err)
	}
	return out
}

// counter serves TokenRequests with a one-hour token and counts them.
type counter struct{ n atomic.Int64 }

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","status":{"token":"bench.jwt.token","expirationTimestamp":%q}}`,
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
}

func fakeAPIServer() *httptest.Server {
	return httptest.NewTLSServer(&counter{})
}

func sorted(s []sample) []time.Duration {
	d := make([]time.Duration, len(s))
	for i, x := range s {
		d[i] = x.wall
	}
	slices.Sort(d)
	return d
}

func median(s []sample) time.Duration { return percentile(s, 0.5) }

func percentile(s []sample, p float64) time.Duration {
	d := sorted(s)
	return d[int(p*float64(len(d)-1))]
}

func mean(s []sample) time.Duration {
	var sum time.Duration
	for _, x := range s {
		sum += x.wall
	}
	return sum / time.Duration(len(s))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
