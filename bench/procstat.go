package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
// 100 on every Linux this runs on.
const clockTick = 10 * time.Millisecond

// procStatusKB reads one "kB" field of /proc/<pid>/status, such as VmHWM.
func procStatusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s of pid %d: %w", field, pid, err)
		}
		return kb, nil
	}
	return 0, fmt.Errorf("no %s in the status of pid %d", field, pid)
}

// cpuTime is the user plus system CPU time a process has used, all its
// threads included.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	// The command name may hold spaces; the fields after it are plain.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse stat of pid %d", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("parse stat of pid %d: %d fields", pid, len(fields))
	}
	// utime and stime are the 14th and 15th fields; state (3rd) is fields[0].
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse stat of pid %d: bad utime or stime", pid)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// findServerPID finds the ClickHouse server started with the config file
// under dir, so that its CPU time can be read.
func findServerPID(dir string) (int, error) {
	abs, err := filepath.Abs(filepath.Join(dir, "config", "config.xml"))
	if err != nil {
		return 0, err
	}
	want := []byte("--config-file=" + abs)
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, want) {
			continue
		}
		return strconv.Atoi(filepath.Base(filepath.Dir(p)))
	}
	return 0, fmt.Errorf("no process runs ClickHouse with %s", abs)
}

// systemBusy is the CPU time every process on the machine has used since
// boot (/proc/stat: everything but idle and iowait).
func systemBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("read /proc/stat: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, fmt.Errorf("parse /proc/stat: %q", line)
	}
	var busy int64
	for i, f := range fields[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/stat: %w", err)
		}
		busy += n
	}
	return time.Duration(busy) * clockTick, nil
}

// otherProcesses names the CPU that none of the measured components used:
// builds and tests of other work on a shared machine.
const otherProcesses = "other processes"

// cpuMeter measures the CPU that the components, and everything else on
// the machine, use over an interval.
type cpuMeter struct {
	pids  map[string]int // component name → pid
	from  map[string]time.Duration
	final map[string]time.Duration // of components that have exited (exited)
	busy  time.Duration            // systemBusy at the start
	start time.Time
}

// startCPUMeter records the CPU times now; a component whose time cannot be
// read is left out.
func startCPUMeter(pids map[string]int) *cpuMeter {
	m := &cpuMeter{pids: pids, from: map[string]time.Duration{}, start: time.Now()}
	for name, pid := range pids {
		if t, err := cpuTime(pid); err == nil {
			m.from[name] = t
		}
	}
	m.busy, _ = systemBusy()
	return m
}

// exited records the CPU time of a component that has exited, which /proc
// no longer shows (os.ProcessState's user and system time).
func (m *cpuMeter) exited(name string, total time.Duration) {
	if m.final == nil {
		m.final = map[string]time.Duration{}
	}
	m.final[name] = total
}

// cores returns, per component, the CPU it used since the start divided
// by the wall time (1.0 is one core busy throughout), and the same for the
// rest of the machine under otherProcesses.
func (m *cpuMeter) cores() map[string]float64 {
	wall := time.Since(m.start).Seconds()
	out := map[string]float64{}
	var ours time.Duration
	for name, pid := range m.pids {
		from, ok := m.from[name]
		if !ok {
			continue
		}
		t, err := cpuTime(pid)
		if f, ok := m.final[name]; ok {
			t, err = f, nil
		}
		if err == nil {
			out[name] = (t - from).Seconds() / wall
			ours += t - from
		}
	}
	if busy, err := systemBusy(); err == nil && m.busy > 0 {
		out[otherProcesses] = max(0, (busy-m.busy-ours).Seconds()/wall)
	}
	return out
}

// rssSampler reads a process's VmRSS at an interval and keeps the largest.
type rssSampler struct {
	maxKB atomic.Int64
	stop  chan struct{}
	done  chan struct{}
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if kb, err := procStatusKB(pid, "VmRSS"); err == nil && kb > s.maxKB.Load() {
				s.maxKB.Store(kb)
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// finish stops sampling and returns the largest VmRSS seen, in kB.
func (s *rssSampler) finish() int64 {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return s.maxKB.Load()
}
