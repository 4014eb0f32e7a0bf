package bootstrap

import (
	"os"
	"os/exec"
	"strings"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// RecursionEnv is set in the environment of every process that kube-sa-token
// starts after it has built a bootstrap client. A kube-sa-token that finds it set
// was started by its own bootstrap exec plugin and would recurse forever.
const RecursionEnv = "KUBE_SA_TOKEN_BOOTSTRAP_ACTIVE"

// programName is the base name of the kube-sa-token binary.
const programName = "kube-sa-token"

// CheckRecursion returns a usage error when RecursionEnv is set, which means a
// kube-sa-token up the process tree started this one through the exec plugin
// of its bootstrap user. A nil getenv means os.Getenv.
func CheckRecursion(getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	if getenv(RecursionEnv) == "" {
		return nil
	}
	return Usagef("%s was started by the exec plugin of its own bootstrap user (%s is set), which would recurse without end: give the bootstrap context a user with its own credentials (a token, a client certificate or another exec plugin)",
		programName, RecursionEnv)
}

// checkExecRecursion rejects a bootstrap user whose exec plugin is
// kube-sa-token itself, before any process starts.
func checkExecRecursion(contextName, userName string, user *clientcmdapi.AuthInfo) error {
	if user == nil || user.Exec == nil || !runsThisProgram(user.Exec.Command) {
		return nil
	}
	return Usagef("bootstrap context %q uses user %q, whose exec plugin %q is %s itself and would call itself without end: pick a bootstrap context whose user has its own credentials (a token, a client certificate or another exec plugin) with %s",
		contextName, userName, user.Exec.Command, programName, flagContext)
}

// runsThisProgram reports whether command is named kube-sa-token[.exe], or
// resolves through PATH to the same file as the running executable.
func runsThisProgram(command string) bool {
	base := command[strings.LastIndexAny(command, `/\`)+1:]
	if strings.EqualFold(base, programName) || strings.EqualFold(base, programName+".exe") {
		return true
	}

	resolved, err := exec.LookPath(command)
	if err != nil {
		return false
	}
	self, err := os.Executable()
	if err != nil {
		return false
	}
	resolvedInfo, err := os.Stat(resolved)
	if err != nil {
		return false
	}
	selfInfo, err := os.Stat(self)
	if err != nil {
		return false
	}
	return os.SameFile(resolvedInfo, selfInfo)
}
