package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is a subprocess of the harness. It runs in its own process group,
// the kernel kills it if the harness dies (Pdeathsig), and its output goes
// to a log file that errors quote.
type child struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // the exit status, once done is closed
}

// startChild starts bin with args, its output appended to logPath.
func startChild(name, logPath, bin string, args ...string) (*child, error) {
	return startChildEnv(name, logPath, bin, nil, args...)
}

// startChildEnv is startChild with env added to the harness's environment.
func startChildEnv(name, logPath, bin string, env []string, args ...string) (*child, error) {
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log of %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		out.Close()
		close(c.done)
	}()
	return c, nil
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports, without waiting, an error if the child has already exited.
func (c *child) exited() error {
	select {
	case <-c.done:
		return fmt.Errorf("%s exited unexpectedly (%v); last lines of %s:\n%s", c.name, c.err, c.log, tailFile(c.log, 15))
	default:
		return nil
	}
}

// stop asks the child to shut down (SIGTERM) and kills its process group
// when it has not within timeout. It returns the exit error of a child that
// did not stop cleanly; calling it again is harmless.
func (c *child) stop(timeout time.Duration) error {
	select {
	case <-c.done:
		return c.err
	default:
	}
	_ = syscall.Kill(c.pid(), syscall.SIGTERM)
	select {
	case <-c.done:
		return c.err
	case <-time.After(timeout):
		c.kill()
		return fmt.Errorf("%s did not stop within %s; killed (its goroutines are in %s)", c.name, timeout, c.log)
	}
}

// kill makes a hung Go child dump its goroutines into its log (SIGQUIT),
// then kills its process group.
func (c *child) kill() {
	_ = syscall.Kill(c.pid(), syscall.SIGQUIT)
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
		_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
		<-c.done
	}
}

// runChild runs bin to completion and returns its stdout; stderr is quoted
// in the error when it fails.
func runChild(ctx context.Context, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", fmt.Errorf("%s %s: %w: %s", bin, args[0], err, strings.TrimSpace(stderr.String()))
		}
		return "", fmt.Errorf("%s %s: %w", bin, args[0], err)
	}
	return string(out), nil
}

// tailFile returns the last n lines of a file, for error messages.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
