package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"
)

// harness runs the measurements in order and keeps their results.
type harness struct {
	cfg    config
	env    *env
	stderr io.Writer
	start  time.Time
	mu     sync.Mutex // serialises progress lines
	res    results
	failed []string
}

func newHarness(cfg config, stderr io.Writer) *harness {
	return &harness{cfg: cfg, stderr: stderr, start: time.Now()}
}

// say prints a progress line to stderr, stamped with the run's elapsed time.
func (h *harness) say(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(h.stderr, "[bench %6.1fs] %s\n", time.Since(h.start).Seconds(), fmt.Sprintf(format, args...))
}

// step is one measurement of the harness.
type step struct {
	name string
	run  func(context.Context) error
}

// figureGroups are the sets of figures --figures picks from, in the order
// they run. A group's steps record their own table rows (h.record) unless
// they are the foundation's, whose rows the report lays out itself.
func (h *harness) figureGroups() []figureGroup {
	return []figureGroup{
		{"foundation", []step{
			{"raw columnar insert", h.measureRaw},
			{"produce to Kafka", h.measureProduce},
			{"end-to-end ingest", h.measureEndToEnd},
			{"freshness", h.measureFreshness},
			{"POST /v1/events", h.measurePost},
			{"WeCom callbacks", h.measureWeCom},
		}},
		{"profiles", []step{{"profile reads by any id", h.measureProfiles}}},
		{"followup", []step{
			{"pool claims", h.measurePoolClaims},
			{"board first page", h.measureBoard},
		}},
		{"followup-day", []step{
			{"follow-up → board", h.measureFollowupToBoard},
		}},
		{"metrics", h.metricsSteps()},
		{"cdp", h.cdpSteps()},
		{"views", h.viewsSteps()},
	}
}

// checkFigures refuses --figures naming a group that does not exist.
func (h *harness) checkFigures() error {
	known := map[string]bool{}
	var names []string
	for _, g := range h.figureGroups() {
		known[g.name] = true
		names = append(names, g.name)
	}
	for g := range h.cfg.figures {
		if !known[g] {
			return fmt.Errorf("--figures: no group %q; the groups are %s", g, strings.Join(names, ", "))
		}
	}
	return nil
}

// figureGroup is a named list of steps.
type figureGroup struct {
	name  string
	steps []step
}

// measureAll runs every figure of the chosen groups. The order matters: the
// end-to-end figure consumes the stream that the produce figure writes, and
// each figure runs alone so that none of them shares the two cores with
// another.
func (h *harness) measureAll(ctx context.Context) {
	h.checkIdle()
	for _, g := range h.figureGroups() {
		if !h.cfg.wants(g.name) {
			continue
		}
		for _, s := range g.steps {
			if ctx.Err() != nil {
				return
			}
			h.say("── %s", s.name)
			if err := s.run(ctx); err != nil {
				h.say("%s failed: %v", s.name, err)
				h.failed = append(h.failed, s.name)
				h.res.errors = append(h.res.errors, fmt.Sprintf("%s: %v", s.name, err))
			}
		}
	}
}

// record adds rows to the table, after the foundation's.
func (h *harness) record(rows ...row) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.res.extra = append(h.res.extra, rows...)
}

// meter starts measuring the CPU of the harness, ClickHouse, the given
// subprocesses (name → pid) and the rest of the machine.
func (h *harness) meter(children map[string]int) *cpuMeter {
	pids := map[string]int{"harness (clients)": os.Getpid()}
	if h.env.servers != nil {
		pids["Kafka (siyu run --servers-only)"] = h.env.servers.pid()
	}
	if h.env.chPID != 0 {
		pids["ClickHouse"] = h.env.chPID
	}
	for name, pid := range children {
		pids[name] = pid
	}
	return startCPUMeter(pids)
}

// recordCPU keeps what m measured for the report.
func (h *harness) recordCPU(figure string, m *cpuMeter) {
	h.res.cpu = append(h.res.cpu, cpuShare{figure: figure, cores: m.cores()})
}

// release stops a subprocess on the way out of a step, saying so when it is
// still running: on an interruption it may be mid-insert, and waits less.
func (h *harness) release(ctx context.Context, c *child) {
	if c.exited() != nil {
		return
	}
	timeout := 15 * time.Second
	if ctx.Err() != nil {
		timeout = 5 * time.Second
	}
	h.say("stopping %s", c.name)
	if err := c.stop(timeout); err != nil {
		h.say("%v", err)
	}
}

// checkIdle warns when other processes keep the CPU busy: the figures are
// then lower than what this machine does for Siyu alone.
func (h *harness) checkIdle() {
	m := startCPUMeter(nil)
	time.Sleep(time.Second)
	if busy := m.cores()[otherProcesses]; busy > busyOthers {
		h.say("warning: other processes keep %.2f of %d cores busy; the figures will be low", busy, runtime.NumCPU())
	}
}
