package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ServerConfig describes a private ClickHouse server: its own config and data
// under Dir, listening on loopback only.
type ServerConfig struct {
	Dir      string // holds config/, data/, log/
	TCPPort  int    // native protocol
	HTTPPort int
	Binary   string // clickhouse-server or clickhouse; found on PATH when empty
	// Install lets Start install Debian's clickhouse-server when no binary is
	// found (needs root and apt-get). Output goes to InstallOutput.
	Install       bool
	InstallOutput io.Writer
	// GrafanaDatabase, when set, adds the read-only user GrafanaUser with
	// GrafanaPassword, who may read that database only (see GrafanaCluster).
	GrafanaDatabase string
	GrafanaPassword string
}

// Validate checks the config.
func (c ServerConfig) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("clickhouse server: a data dir is required")
	case c.TCPPort <= 0 || c.TCPPort > 65535:
		return fmt.Errorf("clickhouse server: TCP port %d is out of range", c.TCPPort)
	case c.HTTPPort <= 0 || c.HTTPPort > 65535:
		return fmt.Errorf("clickhouse server: HTTP port %d is out of range", c.HTTPPort)
	case c.GrafanaDatabase != "" && c.GrafanaPassword == "":
		return errors.New("clickhouse server: the grafana user needs a password")
	case c.GrafanaDatabase != "" && !identifier.MatchString(c.GrafanaDatabase):
		return fmt.Errorf("clickhouse server: grafana database %q: want letters, digits and _", c.GrafanaDatabase)
	}
	return nil
}

// identifier is a database or table name that needs no quoting.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Server is one run of a private ClickHouse server's process. Its exit is
// recorded once (Done is closed, Err holds the status) so that any number of
// watchers, and Stop, all see it; a Supervisor starts a new Server when one
// exits unexpectedly.
type Server struct {
	cfg  ServerConfig
	cmd  *exec.Cmd
	log  *slog.Logger
	done chan struct{} // closed when the process has exited and err is set
	err  error         // cmd.Wait's result
}

// killWait bounds how long Stop waits for the process to go after SIGKILL:
// only a process stuck in the kernel (a hung disk) outlives it, and Stop
// must not hang on one.
const killWait = 5 * time.Second

// StartServer writes the server's config, starts it and waits until it
// answers. The child dies with this process (Pdeathsig).
func StartServer(ctx context.Context, cfg ServerConfig, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bin, args, err := findBinary(ctx, cfg)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("clickhouse data dir: %w", err)
	}
	cfg.Dir = dir
	if err := writeServerConfig(cfg); err != nil {
		return nil, err
	}
	if err := portFree(cfg.TCPPort); err != nil {
		return nil, err
	}
	args = append(args, "--config-file="+filepath.Join(dir, "config", "config.xml"))
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := os.OpenFile(filepath.Join(dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("clickhouse log: %w", err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{cfg: cfg, cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		out.Close()
		close(s.done)
	}()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.Stop(5 * time.Second)
		return nil, err
	}
	log.Info("clickhouse started", "addr", s.Addr(), "dir", dir, "pid", cmd.Process.Pid)
	return s, nil
}

// Addr is the native-protocol address.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.cfg.TCPPort) }

// HTTPAddr is the HTTP-protocol address.
func (s *Server) HTTPAddr() string { return "127.0.0.1:" + strconv.Itoa(s.cfg.HTTPPort) }

// DSN is a DSN for database on this server.
func (s *Server) DSN(database string) string { return DSN(s.Addr(), database) }

// Pid is the server's process id, which is also its process group's.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Done is closed when the server's process has exited, for whatever reason
// (Stop, a crash, a kill); Err then tells how.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is the process's exit status once Done is closed (nil for a clean
// exit), and nil while it runs.
func (s *Server) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// ErrorLog is the path of the server's error log.
func (s *Server) ErrorLog() string { return filepath.Join(s.cfg.Dir, "log", "error.log") }

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("clickhouse exited at start (%v); last lines of %s:\n%s",
				s.err, s.ErrorLog(), tail(s.ErrorLog(), 15))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if s.ping(ctx) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("clickhouse did not answer on %s within %s; see %s", s.Addr(), limit, s.ErrorLog())
		}
	}
}

func (s *Server) ping(ctx context.Context) error {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{s.Addr()}, DialTimeout: time.Second})
	if err != nil {
		return err
	}
	defer conn.Close()
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return conn.Ping(pctx)
}

// Stop asks the server to shut down (SIGTERM) and kills its process group
// after timeout. It returns at once when the server has already exited, and
// never waits longer than timeout plus killWait; it is safe to call again.
func (s *Server) Stop(timeout time.Duration) error {
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		s.log.Info("clickhouse stopped", "pid", s.Pid())
		return nil
	case <-time.After(timeout):
	}
	_ = syscall.Kill(-s.Pid(), syscall.SIGKILL)
	select {
	case <-s.done:
		return fmt.Errorf("clickhouse did not stop within %s; killed", timeout)
	case <-time.After(killWait):
		return fmt.Errorf("clickhouse (pid %d) did not stop within %s nor die within %s of SIGKILL", s.Pid(), timeout, killWait)
	}
}

func portFree(port int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return fmt.Errorf("clickhouse port %d is taken (is another siyu run or ClickHouse using it? pick another with --clickhouse-port): %w", port, err)
	}
	return ln.Close()
}

// findBinary locates a ClickHouse server binary, installing Debian's package
// when allowed. Current releases ship one `clickhouse` binary (`clickhouse server`).
func findBinary(ctx context.Context, cfg ServerConfig) (string, []string, error) {
	if cfg.Binary != "" {
		return binaryArgs(cfg.Binary)
	}
	if p, err := exec.LookPath("clickhouse-server"); err == nil {
		return p, nil, nil
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return p, []string{"server", "--"}, nil
	}
	if !cfg.Install {
		return "", nil, errors.New("no ClickHouse server found on PATH: install it (Debian: apt-get install clickhouse-server) or pass --clickhouse-dsn to use a running one")
	}
	if err := installClickHouse(ctx, cfg.InstallOutput); err != nil {
		return "", nil, err
	}
	p, err := exec.LookPath("clickhouse-server")
	if err != nil {
		return "", nil, errors.New("installed clickhouse-server but it is not on PATH; add /usr/sbin to PATH")
	}
	return p, nil, nil
}

func binaryArgs(bin string) (string, []string, error) {
	p, err := exec.LookPath(bin)
	if err != nil {
		return "", nil, fmt.Errorf("clickhouse binary %q: %w", bin, err)
	}
	if filepath.Base(p) == "clickhouse" {
		return p, []string{"server", "--"}, nil
	}
	return p, nil, nil
}

func installClickHouse(ctx context.Context, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	if os.Geteuid() != 0 {
		return errors.New("no ClickHouse server found, and installing one needs root: run `sudo apt-get install clickhouse-server`, or pass --clickhouse-dsn")
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return errors.New("no ClickHouse server found and no apt-get to install one: install ClickHouse, or pass --clickhouse-dsn")
	}
	fmt.Fprintln(out, "ClickHouse is not installed; installing Debian's clickhouse-server (apt-get)...")
	for _, args := range [][]string{{"update", "-q"}, {"install", "-y", "-q", "clickhouse-server"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w", strings.Join(args, " "), err)
		}
	}
	return nil
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return "(empty)"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
