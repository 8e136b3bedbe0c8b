package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The in-process figures are Go benchmarks next to the code they measure;
// the harness builds their package's test binary, runs the benchmark once
// against its servers and reads the figures from the benchmark's output.

// rawDatabase is the database BenchmarkColumnarInsert fills and drops.
const rawDatabase = "bench_raw"

// measureRaw runs ingest's BenchmarkColumnarInsert on the main stream's
// size: decode + Arrow build on one core, then ingest.Writer inserting
// 100,000-row records into a copy of events without views and into events.
func (h *harness) measureRaw(ctx context.Context) error {
	lines, err := h.goBench(ctx, "./ingest", "BenchmarkColumnarInsert", "insert into events_raw and events",
		"SIYU_BENCH_CLICKHOUSE_DSN="+h.env.dsnOf(rawDatabase), "SIYU_BENCH_EVENTS="+strconv.Itoa(h.cfg.events))
	if err != nil {
		return err
	}
	m, err := metricsOf(lines, "BenchmarkColumnarInsert", "build-events/s", "raw-rows/s", "mv-rows/s")
	if err != nil {
		return err
	}
	h.res.build, h.res.raw, h.res.rawViews = m[0], m[1], m[2]
	h.say("decode + Arrow build %s events/s; insert %s rows/s without views, %s with", thousands(int(m[0])),
		thousands(int(m[1])), thousands(int(m[2])))
	return nil
}

// goBench compiles pkg's tests and runs the benchmarks matching name once
// (-benchtime 1x) with env added, metering their CPU as figure. It returns
// the parsed benchmark lines.
func (h *harness) goBench(ctx context.Context, pkg, name, figure string, env ...string) ([]benchLine, error) {
	bin := filepath.Join(h.cfg.dir, "streams", filepath.Base(pkg)+".test")
	h.say("go test -c %s (the benchmark's binary)", pkg)
	build := exec.CommandContext(ctx, h.cfg.goTool, "test", "-c", "-o", bin, pkg)
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go test -c %s: %w: %s", pkg, err, out)
	}
	logPath := h.env.logFile("gobench-" + name)
	args := []string{"-test.run", "^$", "-test.bench", "^" + name + "$", "-test.benchtime", "1x", "-test.count", "1"}
	h.say("running %s (log: %s)", name, logPath)
	c, err := startChildEnv(name, logPath, bin, env, args...)
	if err != nil {
		return nil, err
	}
	component := "go test " + pkg
	cpu := h.meter(map[string]int{component: c.pid()})
	select {
	case <-c.done:
	case <-ctx.Done():
		_ = c.stop(5 * time.Second)
		return nil, ctx.Err()
	}
	if st := c.cmd.ProcessState; st != nil {
		cpu.exited(component, st.UserTime()+st.SystemTime())
	}
	h.recordCPU(figure, cpu)
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lines, perr := parseBench(f)
	if c.err != nil {
		return nil, fmt.Errorf("%s failed (%v); last lines of %s:\n%s", name, c.err, logPath, tailFile(logPath, 15))
	}
	return lines, perr
}

// benchLine is one result line of `go test -bench`.
type benchLine struct {
	name    string // without the -GOMAXPROCS suffix
	n       int
	metrics map[string]float64 // unit → value: ns/op, B/op, events/s...
}

// parseBench reads the result lines of `go test -bench` output, e.g.
//
//	BenchmarkColumnarInsert-2   1   8193395226 ns/op   77770 build-events/s
//
// and skips every other line (logs, PASS, ok).
func parseBench(r io.Reader) ([]benchLine, error) {
	var out []benchLine
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue // a log line that starts with a benchmark's name
		}
		l := benchLine{name: trimProcs(f[0]), n: n, metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: value %q: %w", sc.Text(), f[i], err)
			}
			l.metrics[f[i+1]] = v
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// trimProcs drops the -GOMAXPROCS suffix of a benchmark's name.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

// metricsOf returns the named benchmark's values of units, in order.
func metricsOf(lines []benchLine, name string, units ...string) ([]float64, error) {
	for _, l := range lines {
		if l.name != name {
			continue
		}
		out := make([]float64, len(units))
		for i, u := range units {
			v, ok := l.metrics[u]
			if !ok {
				return nil, fmt.Errorf("%s reported no %s", name, u)
			}
			out[i] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("no result of %s (was it skipped?)", name)
}
