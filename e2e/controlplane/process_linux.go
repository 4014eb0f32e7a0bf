package controlplane

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// stopGracePeriod is how long a component gets to exit after SIGTERM before SIGKILL.
// kube-apiserver drains in about a second with the flags used here; etcd is faster.
const stopGracePeriod = 10 * time.Second

// process is one control plane component running in its own process group, with its
// stdout and stderr in a log file.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd

	// exited is closed once the process has been reaped; waitErr is valid after that.
	exited  chan struct{}
	waitErr error
}

// startProcess starts binary in a new process group so that stop can signal it and any
// children together. The child also gets SIGKILL if this process dies without calling stop
// (a test binary killed by its -timeout, for example), so no component outlives its owner.
func startProcess(name, binary string, args []string, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create log file for %s: %w", name, err)
	}

	cmd := exec.Command(binary, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	p := &process{name: name, logPath: logPath, cmd: cmd, exited: make(chan struct{})}
	started := make(chan error, 1)
	go p.runOnLockedThread(logFile, started)
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %s: %w", name, binary, err)
	}
	return p, nil
}

// runOnLockedThread starts and reaps the process from one OS thread that stays alive until
// the process exits. Linux sends the parent-death signal when the thread that forked the
// child exits, not the whole process, so an unlocked goroutine could lose it early.
func (p *process) runOnLockedThread(logFile *os.File, started chan<- error) {
	runtime.LockOSThread()
	defer logFile.Close()

	if err := p.cmd.Start(); err != nil {
		started <- err
		close(p.exited)
		return
	}
	started <- nil

	p.waitErr = p.cmd.Wait()
	close(p.exited)
}

func (p *process) pid() int {
	return p.cmd.Process.Pid
}

func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after stopGracePeriod. It returns
// once the process has been reaped.
func (p *process) stop() error {
	if p.hasExited() {
		return nil
	}

	pgid := p.pid()
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("send SIGTERM to %s: process group %d: %w", p.name, pgid, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(stopGracePeriod):
	}

	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("send SIGKILL to %s: process group %d: %w", p.name, pgid, err)
	}
	<-p.exited
	return nil
}

// logTail returns the last lines of the process's log, or a note saying why it cannot.
func (p *process) logTail(lines int) string {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(log of %s not readable: %v)", p.name, err)
	}
	return lastLines(data, lines)
}

func lastLines(data []byte, lines int) string {
	data = bytes.TrimRight(data, "\n")
	start := len(data)
	for n := 0; n < lines && start > 0; n++ {
		start = bytes.LastIndexByte(data[:start], '\n')
		if start < 0 {
			start = 0
			break
		}
	}
	return string(bytes.TrimLeft(data[start:], "\n"))
}
