package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/kube-sa-token/kube-sa-token/bootstrap"
	"github.com/kube-sa-token/kube-sa-token/cache"
)

func (a *app) cacheCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "List or clear cached tokens (tokens themselves are never printed)",
		// Runnable with no arguments, so that cobra rejects an unknown
		// subcommand instead of printing help and exiting 0.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&dir, "cache-dir", "", "token cache directory (default: as for the token command)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List cache entries: ServiceAccount, audiences, bootstrap source and expiry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a.started = true
			store, err := openCache(dir)
			if err != nil {
				return err
			}
			return a.listCache(store, time.Now())
		},
	}
	clear := &cobra.Command{
		Use:   "clear",
		Short: "Delete every cache entry, so the next call mints new tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a.started = true
			store, err := openCache(dir)
			if err != nil {
				return err
			}
			n, err := clearCache(store)
			fmt.Fprintf(a.stdout, "deleted %d cache entries from %s\n", n, store.Dir())
			return err
		},
	}
	cmd.AddCommand(list, clear)
	return cmd
}

func openCache(flagDir string) (*cache.Store, error) {
	dir, err := cache.Dir(flagDir, os.Getenv)
	if err != nil {
		return nil, bootstrap.Usagef("%v", err)
	}
	return cache.New(dir), nil
}

// entryKeys returns the keys of the entry files in store, sorted.
func entryKeys(store *cache.Store) ([]string, error) {
	files, err := os.ReadDir(store.Dir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read cache directory %s: %w", store.Dir(), err)
	}
	var keys []string
	for _, f := range files {
		name := f.Name()
		key := strings.TrimSuffix(name, ".json")
		if f.Type().IsRegular() && key != name && isKey(key) {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

func (a *app) listCache(store *cache.Store, now time.Time) error {
	keys, err := entryKeys(store)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "cache directory: %s\n", store.Dir())
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSERVICEACCOUNT\tAUDIENCES\tBOUND\tCLUSTER\tBOOTSTRAP\tEXPIRES")
	for _, key := range keys {
		e, err := store.Get(key)
		if err != nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\tunusable: %v\n", key[:12], err)
			continue
		}
		in := e.Inputs
		bound := "-"
		if in.BoundObjectKind != "" {
			bound = in.BoundObjectKind + "/" + in.BoundObjectName
		}
		cluster := in.ClusterServer
		if cluster == "" {
			cluster = "-"
		}
		fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\t%s\t%s\t%s\n", key[:12], in.Namespace, in.ServiceAccount, describeAudiences(in.Audiences), bound, cluster, describeSource(in), describeExpiry(e.ExpiresAt, now))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write cache list: %w", err)
	}
	return nil
}

// describeSource names the bootstrap source of an entry. For a kubeconfig it
// shows the files and the context flag from the identity fingerprint, whose
// fields read file="PATH" ... and context="NAME".
func describeSource(in cache.Inputs) string {
	if in.BootstrapServer != "" {
		return in.BootstrapSource + " " + in.BootstrapServer
	}
	var files []string
	context := ""
	for _, field := range quotedFields(in.BootstrapIdentity) {
		switch field.name {
		case "file":
			files = append(files, quoteIfNeeded(field.value, string(filepath.ListSeparator)))
		case "context":
			context = quoteIfNeeded(field.value, "")
		}
	}
	if len(files) == 0 {
		return in.BootstrapSource
	}
	s := in.BootstrapSource + " " + strings.Join(files, string(filepath.ListSeparator))
	if context != "" {
		s += " context " + context
	}
	return s
}

type quotedField struct{ name, value string }

// quotedFields returns the name="value" pairs of s, with the values unquoted.
func quotedFields(s string) []quotedField {
	var fields []quotedField
	for {
		eq := strings.Index(s, `="`)
		if eq < 0 {
			return fields
		}
		name := s[strings.LastIndexByte(s[:eq], ' ')+1 : eq]
		value, err := strconv.QuotedPrefix(s[eq+1:])
		if err != nil {
			return fields
		}
		if unquoted, err := strconv.Unquote(value); err == nil {
			fields = append(fields, quotedField{name, unquoted})
		}
		s = s[eq+1+len(value):]
	}
}

// describeAudiences lists audiences separated by commas, quoting any that
// contain a comma or white space so the list reads back unambiguously.
func describeAudiences(audiences []string) string {
	if len(audiences) == 0 {
		return "(API server's)"
	}
	quoted := make([]string, len(audiences))
	for i, a := range audiences {
		quoted[i] = quoteIfNeeded(a, ",")
	}
	return strings.Join(quoted, ",")
}

// quoteIfNeeded returns s as a Go string literal when it contains one of
// separators, a space, a quote or a character that is not printable (which
// could drive the terminal), else s itself.
func quoteIfNeeded(s, separators string) string {
	if strings.ContainsAny(s, separators+"\" ") || strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}

func describeExpiry(expiresAt, now time.Time) string {
	at := expiresAt.UTC().Format(time.RFC3339)
	if !now.Before(expiresAt) {
		return at + " (expired)"
	}
	return at + " (in " + expiresAt.Sub(now).Round(time.Second).String() + ")"
}

// clearCache deletes every entry file in store and returns how many it deleted.
// Lock files stay: deleting one that another process holds would let a third
// process lock a new file of the same name at the same time.
func clearCache(store *cache.Store) (int, error) {
	keys, err := entryKeys(store)
	if err != nil {
		return 0, err
	}
	var errs []error
	n := 0
	for _, key := range keys {
		if err := os.Remove(filepath.Join(store.Dir(), key+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// isKey reports whether name has the form of a cache key: 64 lowercase hex
// digits. Other files in the cache directory are not entries.
func isKey(name string) bool {
	if len(name) != 64 {
		return false
	}
	for _, c := range name {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
