package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/kube-sa-token/kube-sa-token/bootstrap"
	"github.com/kube-sa-token/kube-sa-token/plugin"
)

const exitCodesHelp = `Exit codes:
  0  success: one ExecCredential on stdout
  1  any other failure
  2  invalid input or usage (flags, KUBERNETES_EXEC_INFO, a TokenRequest the API server rejects as invalid)
  3  bootstrap credentials rejected by the API server (401)
  4  the bootstrap identity may not create tokens for the ServiceAccount (403)
  5  not found (404): the ServiceAccount or the bound object, as the message says
  6  API server unreachable, or the invocation timed out (--timeout)`

// beforeOutput is passed to plugin.Runner.BeforeOutput; only tests set it.
var beforeOutput func(token string)

// run executes the command line args and returns the process exit code.
// Nothing but an ExecCredential is ever written to stdout by `token`.
func run(args []string, stdout, stderr io.Writer) int {
	errOut := plugin.NewRedactor(stderr)
	app := &app{stdout: stdout, stderr: errOut}
	root := app.rootCommand()
	if len(args) > 0 && args[0] == "token" {
		// Every kubectl call runs `token`, and building the completion
		// command tree is a measurable share of a cache hit.
		root.CompletionOptions.DisableDefaultCmd = true
	} else {
		rejectUnknownShells(root)
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(errOut)

	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}

	code := bootstrap.ExitFailure
	var coded interface{ ExitCode() int }
	switch {
	case errors.As(err, &coded):
		code = coded.ExitCode()
	case !app.started:
		// Cobra failed before a command ran: an unknown command or flag, or a
		// flag value that does not parse.
		code = bootstrap.ExitUsage
	}
	fmt.Fprintf(errOut, "kube-sa-token: error: %v\n", err)
	if !app.started {
		fmt.Fprintf(errOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// app carries what the commands share.
type app struct {
	stdout  io.Writer
	stderr  *plugin.Redactor
	started bool // set once a command's RunE begins, to distinguish parse errors from run errors
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "kube-sa-token",
		Short: "Client-go exec credential plugin for short-lived, bound ServiceAccount tokens",
		Long: `kube-sa-token mints ServiceAccount tokens through the TokenRequest API, caches them on
disk, and prints them as an ExecCredential, so kubectl and every client-go program can act as a
ServiceAccount without a long-lived secret. Run it from a kubeconfig exec stanza:

  users:
  - name: deployer
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1
        command: kube-sa-token
        args: [token, --namespace, team-a, --service-account, deployer, --bootstrap-context, admin]
        interactiveMode: Never
        provideClusterInfo: true

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(a.tokenCommand(), a.versionCommand(), a.cacheCommand())
	return root
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a.started = true
			_, err := fmt.Fprintf(a.stdout, "kube-sa-token %s (commit %s, built %s, %s %s/%s)\n", version, commit, date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}

// tokenFlags are the raw flag values of `token` that need conversion.
type tokenFlags struct {
	boundKind, boundName, boundUID string
	verbosity                      int
}

func (a *app) tokenCommand() *cobra.Command {
	cfg := plugin.Config{}
	raw := tokenFlags{}

	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print an ExecCredential with a ServiceAccount token (the exec plugin entry point)",
		Long: `Print an ExecCredential holding a token for the ServiceAccount, from the cache when it
is fresh, else minted through the TokenRequest API with the bootstrap identity. client-go passes
KUBERNETES_EXEC_INFO, whose apiVersion selects the ExecCredential version printed. The printed
expirationTimestamp is the token's expiry minus --refresh-buffer, so client-go runs the plugin
again exactly when a new token is due. stdout carries only the ExecCredential; stdin is never read.

Bootstrap identity, one of:
  --bootstrap-kubeconfig/--bootstrap-context   any auth method client-go supports (default: the
                                                standard kubeconfig loading rules and current context)
  --bootstrap-server with --bootstrap-token-file (or $` + bootstrap.TokenEnv + `) and
      --bootstrap-certificate-authority        for CI runners that hold only a token
  --bootstrap-in-cluster                       the pod's mounted ServiceAccount token and CA

` + exitCodesHelp,
		Example: `  kube-sa-token token -n team-a --service-account deployer --bootstrap-context admin
  kube-sa-token token -n team-a --service-account deployer --audience vault --expiration 30m \
      --bootstrap-server https://10.0.0.1:6443 --bootstrap-token-file /run/ci/token \
      --bootstrap-certificate-authority /run/ci/ca.crt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a.started = true
			if raw.verbosity < 0 || raw.verbosity > 10 {
				return bootstrap.Usagef("invalid -v %d: use a level from 0 to 10", raw.verbosity)
			}
			if raw.boundKind != "" || raw.boundName != "" || raw.boundUID != "" {
				cfg.Request.BoundObject = &bootstrap.BoundObject{Kind: raw.boundKind, Name: raw.boundName, UID: raw.boundUID}
			}
			cfg.Bootstrap.Token = os.Getenv(bootstrap.TokenEnv)
			cfg.Bootstrap.UserAgent = "kube-sa-token/" + version
			return a.runToken(cmd.Context(), cfg, raw.verbosity)
		},
	}

	f := cmd.Flags()
	f.SortFlags = false
	f.StringVarP(&cfg.Request.Namespace, "namespace", "n", "", "namespace of the ServiceAccount (required)")
	f.StringVar(&cfg.Request.ServiceAccount, "service-account", "", "name of the ServiceAccount to mint a token for (required)")
	f.StringArrayVar(&cfg.Request.Audiences, "audience", nil, "audience of the token; repeat for several (default: the API server's audiences). Setting it replaces the API server's audiences, so kubectl can use the token only if one of them is also listed")
	f.DurationVar(&cfg.Expiration, "expiration", time.Hour, "requested token lifetime, from 10m to 2^32 seconds; the API server may grant less")
	f.StringVar(&raw.boundKind, "bound-object-kind", "", "bind the token to an object of this kind: Pod, Secret or Node")
	f.StringVar(&raw.boundName, "bound-object-name", "", "name of the bound object (required with --bound-object-kind)")
	f.StringVar(&raw.boundUID, "bound-object-uid", "", "UID of the bound object (optional; the API server checks it)")

	f.StringVar(&cfg.Bootstrap.Kubeconfig, "bootstrap-kubeconfig", "", "kubeconfig of the bootstrap identity (default: $KUBECONFIG, else ~/.kube/config)")
	f.StringVar(&cfg.Bootstrap.Context, "bootstrap-context", "", "kubeconfig context of the bootstrap identity (default: the current context)")
	f.StringVar(&cfg.Bootstrap.Server, "bootstrap-server", "", "API server URL for a token bootstrap (https://host:port)")
	f.StringVar(&cfg.Bootstrap.TokenFile, "bootstrap-token-file", "", "file holding the bootstrap bearer token (or set $"+bootstrap.TokenEnv+")")
	f.StringVar(&cfg.Bootstrap.CAFile, "bootstrap-certificate-authority", "", "PEM file of the CA that signed the --bootstrap-server certificate")
	f.BoolVar(&cfg.Bootstrap.InsecureSkipTLSVerify, "bootstrap-insecure-skip-tls-verify", false, "do not verify the --bootstrap-server certificate (insecure; prints a warning)")
	f.BoolVar(&cfg.Bootstrap.InCluster, "bootstrap-in-cluster", false, "use the pod's mounted ServiceAccount token and CA as the bootstrap identity")

	f.StringVar(&cfg.CacheDir, "cache-dir", "", "token cache directory (default: $KUBE_SA_TOKEN_CACHE_DIR, else $XDG_CACHE_HOME/kube-sa-token, else the platform cache directory)")
	f.BoolVar(&cfg.NoCache, "no-cache", false, "neither read nor write the token cache")
	f.DurationVar(&cfg.RefreshBuffer, "refresh-buffer", time.Minute, "mint a new token this long before the current one expires")
	f.StringVar(&cfg.DefaultAPIVersion, "api-version", plugin.APIVersionV1, "ExecCredential apiVersion to print when KUBERNETES_EXEC_INFO is unset or empty")
	f.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "deadline for the whole invocation, lock waits and HTTP included")
	f.IntVarP(&raw.verbosity, "v", "v", 0, "log verbosity on stderr (0-10); tokens are never logged")

	registerCompletions(cmd)
	return cmd
}

// runToken serves `token` within the --timeout deadline. A watchdog ends the
// process shortly after the deadline even when something ignores the context,
// such as an exec plugin of the bootstrap kubeconfig that hangs.
func (a *app) runToken(ctx context.Context, cfg plugin.Config, verbosity int) (err error) {
	log := plugin.NewLogger(a.stderr, verbosity)

	defer func() {
		if p := recover(); p != nil {
			err = &bootstrap.Error{Code: bootstrap.ExitFailure, Message: fmt.Sprintf("internal error: %v\n%s", p, debug.Stack())}
		}
	}()

	if cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
		watchdog := time.AfterFunc(cfg.Timeout+500*time.Millisecond, func() {
			fmt.Fprintf(a.stderr, "kube-sa-token: error: timed out after %s; raise --timeout or check the bootstrap identity (%s)\n", cfg.Timeout, cfg.Bootstrap.Describe())
			os.Exit(bootstrap.ExitUnreachable)
		})
		defer watchdog.Stop()
	}

	r := &plugin.Runner{
		Config:  cfg,
		Stdout:  a.stdout,
		Log:     log,
		Secrets: a.stderr,
		Getenv:  os.Getenv,
		Now:     time.Now,

		BeforeOutput: beforeOutput,
	}
	return r.Run(ctx)
}

// rejectUnknownShells makes `completion SHELL` with an unknown shell a usage
// error. Cobra's completion command has no action of its own, so it prints
// help and exits 0 for any argument it has no subcommand for.
func rejectUnknownShells(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, cmd := range root.Commands() {
		if cmd.Name() == "completion" {
			cmd.Args = cobra.NoArgs
			cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
		}
	}
}
