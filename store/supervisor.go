package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// RestartPolicy says how a Supervisor restarts a server that exits on its
// own, and when it stops trying.
type RestartPolicy struct {
	// Backoff is the wait before the first restart; it doubles with each
	// further death within Window, up to MaxBackoff. A short first wait
	// keeps a one-off crash (the OOM killer, a stray kill) nearly invisible;
	// doubling keeps a crash loop from spinning.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// MaxRestarts is how many restarts Window allows: one more death and the
	// supervisor gives up. A server that keeps dying has a cause a restart
	// will not fix (a full disk, a damaged part, too little memory), and
	// the operator should read its log rather than watch it loop.
	MaxRestarts int
	Window      time.Duration
}

// DefaultRestartPolicy restarts after 1 s, 2 s, 4 s, 8 s, 16 s and gives up
// at the sixth death within five minutes: about half a minute of trying.
func DefaultRestartPolicy() RestartPolicy {
	return RestartPolicy{Backoff: time.Second, MaxBackoff: 30 * time.Second, MaxRestarts: 5, Window: 5 * time.Minute}
}

// Validate checks the policy.
func (p RestartPolicy) Validate() error {
	switch {
	case p.Backoff <= 0 || p.MaxBackoff < p.Backoff:
		return fmt.Errorf("restart policy: want 0 < Backoff (%s) <= MaxBackoff (%s)", p.Backoff, p.MaxBackoff)
	case p.MaxRestarts < 0:
		return fmt.Errorf("restart policy: MaxRestarts %d is negative", p.MaxRestarts)
	case p.Window <= 0:
		return fmt.Errorf("restart policy: Window %s is not positive", p.Window)
	}
	return nil
}

// backoff is the wait before the nth restart within the window (n >= 1).
func (p RestartPolicy) backoff(n int) time.Duration {
	d := p.Backoff
	for i := 1; i < n && d < p.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, p.MaxBackoff)
}

// Supervisor keeps a private server running: when its process exits without
// Stop, Run starts it again with the same config, data dir and ports, so
// clients (clickhouse-go dials per connection) find it at the same address.
type Supervisor struct {
	policy RestartPolicy
	log    *slog.Logger
	halt   context.Context // cancelled by Stop: nothing more is started
	cancel context.CancelFunc

	mu  sync.Mutex
	srv *Server // the current run
}

// NewSupervisor supervises srv, a server StartServer started.
func NewSupervisor(srv *Server, policy RestartPolicy, log *slog.Logger) (*Supervisor, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	halt, cancel := context.WithCancel(context.Background())
	return &Supervisor{policy: policy, log: log, halt: halt, cancel: cancel, srv: srv}, nil
}

// Server is the current run of the server.
func (s *Supervisor) Server() *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv
}

// DSN is a DSN for database on the server; it survives restarts.
func (s *Supervisor) DSN(database string) string { return s.Server().DSN(database) }

// Run restarts the server each time it exits unexpectedly, until ctx ends or
// Stop is called (then it returns nil and leaves the server running, for
// Stop to end in its turn). It returns an error, and the server stays down,
// when the server dies more often than the policy allows or a restart fails.
func (s *Supervisor) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.halt, cancel)()
	var deaths []time.Time
	for {
		srv := s.Server()
		select {
		case <-ctx.Done():
			return nil
		case <-srv.Done():
		}
		if ctx.Err() != nil || s.halt.Err() != nil {
			return nil // Stop ended it
		}
		died := time.Now()
		deaths = append(recent(deaths, died, s.policy.Window), died)
		if len(deaths) > s.policy.MaxRestarts {
			return s.gaveUp(srv, deaths)
		}
		wait := s.policy.backoff(len(deaths))
		s.log.Warn("clickhouse exited unexpectedly; restarting it", "pid", srv.Pid(), "status", srv.Err(),
			"restart", len(deaths), "in", wait, "error_log", srv.ErrorLog(), "error_log_tail", tail(srv.ErrorLog(), 10))
		next, err := s.restart(ctx, srv, wait)
		if err != nil || next == nil {
			return err
		}
		s.log.Info("clickhouse restarted", "addr", next.Addr(), "pid", next.Pid(), "down_for", time.Since(died).Round(time.Millisecond))
	}
}

// restart waits, then starts the dead server again. It returns nil, nil when
// ctx ended or Stop was called meanwhile.
func (s *Supervisor) restart(ctx context.Context, dead *Server, wait time.Duration) (*Server, error) {
	select {
	case <-ctx.Done():
		return nil, nil
	case <-time.After(wait):
	}
	next, err := StartServer(ctx, dead.cfg, s.log)
	if ctx.Err() != nil {
		if next != nil {
			_ = next.Stop(5 * time.Second)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("clickhouse died (pid %d: %v) and could not be started again: %w\n"+
			"Its data is under %s; fix the cause above, then run siyu again", dead.Pid(), dead.Err(), err, dead.cfg.Dir)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.halt.Err() != nil { // Stop came while it started: it found the old one
		_ = next.Stop(5 * time.Second)
		return nil, nil
	}
	s.srv = next
	return next, nil
}

// ErrGaveUp marks the error Run returns when the server kept dying.
var ErrGaveUp = errors.New("clickhouse keeps dying")

func (s *Supervisor) gaveUp(srv *Server, deaths []time.Time) error {
	return fmt.Errorf("%w: it died %d times within %s (last: pid %d, %v), so it is not restarted again.\n"+
		"Its error log is %s; its last lines:\n%s\n"+
		"Fix the cause shown there (disk space, memory, a damaged part under %s), then run siyu again",
		ErrGaveUp, len(deaths), s.policy.Window, srv.Pid(), srv.Err(), srv.ErrorLog(), tail(srv.ErrorLog(), 15), srv.cfg.Dir)
}

// recent keeps the times within window before now.
func recent(ts []time.Time, now time.Time, window time.Duration) []time.Time {
	kept := ts[:0]
	for _, t := range ts {
		if now.Sub(t) < window {
			kept = append(kept, t)
		}
	}
	return kept
}

// Stop ends supervision and stops the current server (see Server.Stop): it
// returns within timeout plus the kill's wait, and is safe to call again.
func (s *Supervisor) Stop(timeout time.Duration) error {
	s.mu.Lock()
	s.cancel()
	srv := s.srv
	s.mu.Unlock()
	return srv.Stop(timeout)
}
