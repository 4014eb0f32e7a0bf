package main

import (
	"sort"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kube-sa-token/kube-sa-token/plugin"
)

// registerCompletions adds shell completion for the flags of `token` whose
// values come from a fixed set or from the bootstrap kubeconfig.
func registerCompletions(cmd *cobra.Command) {
	fixed := func(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return values, cobra.ShellCompDirectiveNoFileComp
		}
	}
	_ = cmd.RegisterFlagCompletionFunc("bound-object-kind", fixed(plugin.BoundObjectKinds...))
	_ = cmd.RegisterFlagCompletionFunc("api-version", fixed(plugin.SupportedAPIVersions...))
	_ = cmd.RegisterFlagCompletionFunc("bootstrap-context", completeContexts)
	_ = cmd.MarkFlagFilename("bootstrap-kubeconfig")
	_ = cmd.MarkFlagFilename("bootstrap-token-file")
	_ = cmd.MarkFlagFilename("bootstrap-certificate-authority", "crt", "pem")
	_ = cmd.MarkFlagDirname("cache-dir")
}

// completeContexts lists the contexts of the bootstrap kubeconfig named on the
// command line, else of the standard loading rules.
func completeContexts(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path, _ := cmd.Flags().GetString("bootstrap-kubeconfig"); path != "" {
		rules.ExplicitPath = path
	}
	cfg, err := rules.Load()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	names := make([]string, 0, len(cfg.Contexts))
	for name := range cfg.Contexts {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, cobra.ShellCompDirectiveNoFileComp
}
