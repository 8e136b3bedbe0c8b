package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Targets of the foundation's figures.
const (
	targetE2E       = 100_000 // events/s
	targetRatio     = 0.3
	targetRSSMB     = 300
	targetFreshP99  = 2 * time.Second
	targetPost      = 50_000 // events/s
	targetWeCom     = 5_000  // callbacks/s
	bgRateTolerance = 0.97   // share of the background rate that counts as achieved
	busyOthers      = 0.25   // cores used by other processes above which the report warns
)

// results are the measured figures; a nil or zero one was not measured.
type results struct {
	build    float64 // decode + Arrow build, events/s on one core
	raw      float64 // rows/s into a copy of events without views
	rawViews float64 // rows/s into events, views included
	produce  float64 // events/s
	produced bool
	e2e      *e2eResult
	fresh    *freshResult
	post     *postResult
	wecom    *postResult // callbacks count as accepted events
	extra    []row       // figures of the groups after the foundation
	cpu      []cpuShare
	errors   []string
}

// cpuShare is how busy each component kept the CPU during one figure.
type cpuShare struct {
	figure string
	cores  map[string]float64
}

// busiestOthers returns the most CPU other processes used during a figure,
// and that figure.
func (r results) busiestOthers() (float64, string) {
	most, figure := 0.0, ""
	for _, c := range r.cpu {
		if o := c.cores[otherProcesses]; o > most {
			most, figure = o, c.figure
		}
	}
	return most, figure
}

// row is one line of the table.
type row struct{ figure, value, target, ok string }

// report renders the table, the machine line and the notes.
func (h *harness) report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Siyu figures (%s)\n\n", time.Now().Format("2006-01-02 15:04 MST"))
	b.WriteString(table(h.rows()))
	fmt.Fprintf(&b, "\nMachine: %s. N = %s events. Command: `%s`.\n", machine(), thousands(h.cfg.events), h.cfg.command)
	if len(h.res.cpu) > 0 {
		fmt.Fprintf(&b, "\nCPU used while measuring, in cores busy on average (of %d):\n\n", runtime.NumCPU())
		for _, c := range h.res.cpu {
			fmt.Fprintf(&b, "- %s: %s\n", c.figure, formatCores(c.cores))
		}
	}
	if busiest, figure := h.res.busiestOthers(); busiest > busyOthers {
		fmt.Fprintf(&b, "\nWarning: the machine was not idle: other processes kept %.2f cores busy during %s. "+
			"The figures understate what Siyu does here alone; run again when it is quiet.\n", busiest, figure)
	}
	for _, e := range h.res.errors {
		fmt.Fprintf(&b, "\nFailed: %s\n", e)
	}
	return b.String()
}

// table renders rows as a markdown table; a "|" in a cell is written "/".
func table(rows []row) string {
	var b strings.Builder
	b.WriteString("| figure | value | target | ok |\n|---|---|---|---|\n")
	cell := strings.NewReplacer("|", "/", "\n", " ")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell.Replace(r.figure), cell.Replace(r.value), cell.Replace(r.target), cell.Replace(r.ok))
	}
	return b.String()
}

// rows lists the figures in the order the table shows them.
func (h *harness) rows() []row {
	if !h.cfg.wants("foundation") {
		return h.res.extra
	}
	n := thousands(h.cfg.events)
	rows := []row{
		info("decode + Arrow build, one core (not in the insert timing)", rateValue(h.res.build, "events/s")),
		info("raw columnar insert (Writer, 100k-row records, no MVs)", rateValue(h.res.raw, "rows/s")),
		info("columnar insert into events with its MVs (Writer, no Kafka)", rateValue(h.res.rawViews, "rows/s")),
		info("produce to Kafka (embedded broker, "+n+" events)", rateValue(h.res.produce, "events/s")),
	}
	rows = append(rows, h.e2eRows()...)
	rows = append(rows, h.freshRows()...)
	rows = append(rows, h.postRows()...)
	rows = append(rows, h.wecomRows()...)
	return append(rows, h.res.extra...)
}

func (h *harness) e2eRows() []row {
	e := h.res.e2e
	if e == nil {
		return []row{missing("end-to-end ingest (events/s)", fmt.Sprintf("≥ %s events/s", thousands(targetE2E)))}
	}
	ratio := 0.0
	if h.res.raw > 0 {
		ratio = e.rate / h.res.raw
	}
	hwm, rssMax := float64(e.hwmKB)/1024, float64(e.rssMaxKB)/1024
	return []row{
		{"end-to-end ingest (siyu ingest, Kafka → ClickHouse + MVs)", fmt.Sprintf("%s events/s (%s)", thousands(int(e.rate)), round(e.total)),
			fmt.Sprintf("≥ %s events/s", thousands(targetE2E)), pass(e.rate >= targetE2E)},
		info("steady-state ingest (first row visible → last)", fmt.Sprintf("%s events/s (%s)", thousands(int(e.steady)), round(e.steadyFor))),
		info("end-to-end until every offset committed (views folded)", fmt.Sprintf("%s events/s (%s)",
			thousands(int(perSecond(h.cfg.events, e.committed))), round(e.committed))),
		{"e2e / raw ratio", fmt.Sprintf("%.2f", ratio), fmt.Sprintf("≥ %.1f", targetRatio), pass(ratio >= targetRatio && h.res.raw > 0)},
		{"profiles folded (contacts in profile_state)", thousands(int(e.profiles)), "> 0", pass(e.profiles > 0)},
		{"ingest peak RSS (VmHWM / sampled VmRSS max)", fmt.Sprintf("%.0f MB / %.0f MB", hwm, rssMax),
			fmt.Sprintf("≤ %d MB", targetRSSMB), pass(hwm <= targetRSSMB && rssMax <= targetRSSMB)},
	}
}

func (h *harness) freshRows() []row {
	f := h.res.fresh
	label := fmt.Sprintf("freshness p50 / p99 / max at %s events/s", thousands(h.cfg.freshRate))
	if f == nil {
		return []row{missing(label, "p99 ≤ 2 s")}
	}
	bg := float64(h.cfg.freshRate)
	return []row{
		{label, fmt.Sprintf("%s / %s / %s (%d markers, %d unseen)", round(f.p50), round(f.p99), round(f.max), f.markers, f.missing),
			"p99 ≤ " + targetFreshP99.String(), pass(f.p99 <= targetFreshP99 && f.missing == 0 && f.markers > 0)},
		{"freshness background rate achieved", rateValue(f.bgRate, "events/s"), rateValue(bg, "events/s"), pass(f.bgRate >= bg*bgRateTolerance)},
	}
}

func (h *harness) postRows() []row {
	p := h.res.post
	label := fmt.Sprintf("POST /v1/events (%s-event batches, %d clients)", thousands(h.cfg.postBatch), h.cfg.postClients)
	if p == nil {
		return []row{missing(label, fmt.Sprintf("≥ %s events/s", thousands(targetPost)))}
	}
	failures := fmt.Sprintf("%d of %s requests", p.failures, thousands(p.requests))
	if p.firstErr != "" {
		failures += " (first: " + strings.ReplaceAll(p.firstErr, "|", "/") + ")"
	}
	return []row{
		{label, rateValue(p.rate, "events/s"), fmt.Sprintf("≥ %s events/s", thousands(targetPost)), pass(p.rate >= targetPost)},
		info("POST /v1/events latency p50 / p99", fmt.Sprintf("%s / %s", ms(p.p50), ms(p.p99))),
		{"POST /v1/events failed requests", failures, "0", pass(p.failures == 0 && p.requests > 0)},
	}
}

func (h *harness) wecomRows() []row {
	w := h.res.wecom
	label := fmt.Sprintf("WeCom callbacks verified, decrypted and produced (siyu serve, %d clients)", h.cfg.wecomClients)
	target := fmt.Sprintf("≥ %s callbacks/s", thousands(targetWeCom))
	if w == nil {
		return []row{missing(label, target)}
	}
	failures := fmt.Sprintf("%d of %s callbacks", w.failures, thousands(w.requests))
	if w.firstErr != "" {
		failures += " (first: " + strings.ReplaceAll(w.firstErr, "|", "/") + ")"
	}
	return []row{
		{label, rateValue(w.rate, "callbacks/s"), target, pass(w.rate >= targetWeCom)},
		info("WeCom callback latency p50 / p99", fmt.Sprintf("%s / %s", ms(w.p50), ms(w.p99))),
		{"WeCom callbacks not answered 200 \"success\"", failures, "0", pass(w.failures == 0 && w.requests > 0)},
	}
}

// info is a row without a target.
func info(figure, value string) row { return row{figure, value, "—", "—"} }

// missing is the row of a figure whose step failed.
func missing(figure, target string) row {
	return row{figure, "not measured (see Failed)", target, "FAIL"}
}

func pass(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

func rateValue(v float64, unit string) string {
	if v <= 0 {
		return "not measured"
	}
	return thousands(int(v)) + " " + unit
}

func formatCores(cores map[string]float64) string {
	names := make([]string, 0, len(cores))
	for n := range cores {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %.2f", n, cores[n])
	}
	return strings.Join(parts, ", ")
}

// machine describes the CPU: nproc and the model name.
func machine() string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	load := "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load, _, _ = strings.Cut(string(b), " ")
	}
	return fmt.Sprintf("nproc %d, %s, %s %s/%s, load average %s at the end", runtime.NumCPU(), model,
		runtime.Version(), runtime.GOOS, runtime.GOARCH, load)
}

// perSecond is n per elapsed second.
func perSecond(n int, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(n) / elapsed.Seconds()
}

// thousands formats n with comma separators: 2,000,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// round shortens a duration for humans: 1.234s, 412ms.
func round(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond).String()
	default: // sub-millisecond reads would round to "0s"
		return d.Round(10 * time.Microsecond).String()
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
