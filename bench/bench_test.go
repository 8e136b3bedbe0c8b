package main

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// These tests cover the harness's own parsing and reporting; none starts a
// server. The figures themselves: go run ./bench (see main.go).

// fakeBinary is an empty file standing in for bin/siyu, which parseFlags
// only checks for.
func fakeBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "siyu")
	require.NoError(t, os.WriteFile(p, nil, 0o755))
	return p
}

func TestParseFlags(t *testing.T) {
	bin := fakeBinary(t)
	t.Run("defaults are the full sizes", func(t *testing.T) {
		c, err := parseFlags([]string{"--siyu", bin}, io.Discard)
		require.NoError(t, err)
		require.Equal(t, 2_000_000, c.events)
		require.Equal(t, 1_000_000, c.cdpContacts)
		require.Equal(t, 1_000_000, c.fu.customers)
		require.Equal(t, 30*time.Second, c.freshFor)
		require.Equal(t, "go", c.goTool)
		require.Equal(t, filepath.Join(".cache/bench", "results.md"), c.out)
		require.True(t, c.wants("foundation"))
		require.True(t, c.wants("cdp"))
	})
	t.Run("--quick shrinks what is not set", func(t *testing.T) {
		c, err := parseFlags([]string{"--siyu", bin, "--quick", "--cdp-contacts", "3000"}, io.Discard)
		require.NoError(t, err)
		require.Equal(t, 200_000, c.events)
		require.Equal(t, 3000, c.cdpContacts, "set on the command line")
		require.Equal(t, followupSizes{customers: 50_000, reps: 50, hold: 2_000, pool: 2_000, boardClients: 8,
			boardFor: 5 * time.Second, poolReps: 50, poolClients: 32, poolFor: 5 * time.Second}, *c.fu)
		require.Equal(t, []time.Duration{15 * time.Second, 5 * time.Second, 5 * time.Second}, []time.Duration{c.freshFor, c.postFor, c.wecomFor})
		require.Equal(t, 2_000, c.fdayCustomers)
	})
	t.Run("--figures picks groups", func(t *testing.T) {
		c, err := parseFlags([]string{"--siyu", bin, "--figures", "foundation, cdp,,"}, io.Discard)
		require.NoError(t, err)
		require.Equal(t, map[string]bool{"foundation": true, "cdp": true}, c.figures)
		require.True(t, c.wants("cdp"))
		require.False(t, c.wants("followup"))
		require.Equal(t, "go run ./bench --siyu "+bin+" --figures foundation, cdp,,", c.command)
	})
	t.Run("refusals", func(t *testing.T) {
		for _, args := range [][]string{
			{"--siyu", bin, "--cdp-contacts", "10"},
			{"--siyu", bin, "--events", "10"},
			{"--siyu", filepath.Join(t.TempDir(), "missing")},
			{"--siyu", bin, "--no-such-flag"},
		} {
			_, err := parseFlags(args, io.Discard)
			require.Error(t, err, "%q", args)
		}
		_, err := parseFlags([]string{"--help"}, io.Discard)
		require.True(t, errors.Is(err, flag.ErrHelp))
	})
	t.Run("unknown group", func(t *testing.T) {
		c, err := parseFlags([]string{"--siyu", bin, "--figures", "foundation,nope"}, io.Discard)
		require.NoError(t, err)
		err = newHarness(c, io.Discard).checkFigures()
		require.ErrorContains(t, err, `no group "nope"`)
		require.ErrorContains(t, err, "foundation, profiles, followup, followup-day, metrics, cdp, views")
	})
}

// goTestOutput is what `go test -bench` prints, logs and all.
const goTestOutput = `goos: linux
goarch: amd64
pkg: github.com/siyu-dev/siyu/ingest
cpu: Intel(R) Xeon(R) Processor
BenchmarkColumnarInsert-2   	       1	8193395226 ns/op	     77770 build-events/s	     19962 mv-rows/s	     58053 raw-rows/s
BenchmarkColumnarInsert is slow: a log line
BenchmarkDecodeAndBuild-16    	 1000000	      1043 ns/op	 958424 events/s	     312 B/op	       3 allocs/op
BenchmarkNoProcs 	 10	 1.5e+03 ns/op
PASS
ok  	github.com/siyu-dev/siyu/ingest	10.040s
`

func TestParseBench(t *testing.T) {
	lines, err := parseBench(strings.NewReader(goTestOutput))
	require.NoError(t, err)
	require.Equal(t, []benchLine{
		{name: "BenchmarkColumnarInsert", n: 1, metrics: map[string]float64{"ns/op": 8193395226, "build-events/s": 77770,
			"mv-rows/s": 19962, "raw-rows/s": 58053}},
		{name: "BenchmarkDecodeAndBuild", n: 1000000, metrics: map[string]float64{"ns/op": 1043, "events/s": 958424,
			"B/op": 312, "allocs/op": 3}},
		{name: "BenchmarkNoProcs", n: 10, metrics: map[string]float64{"ns/op": 1500}},
	}, lines)

	m, err := metricsOf(lines, "BenchmarkColumnarInsert", "build-events/s", "raw-rows/s", "mv-rows/s")
	require.NoError(t, err)
	require.Equal(t, []float64{77770, 58053, 19962}, m)
	_, err = metricsOf(lines, "BenchmarkColumnarInsert", "rows/s")
	require.ErrorContains(t, err, "reported no rows/s")
	_, err = metricsOf(lines, "BenchmarkSkipped")
	require.ErrorContains(t, err, "no result of BenchmarkSkipped")

	_, err = parseBench(strings.NewReader("BenchmarkX-2 1 fast ns/op\n"))
	require.Error(t, err, "a value that is not a number")
}

func TestTrimProcs(t *testing.T) {
	for in, want := range map[string]string{"BenchmarkA-2": "BenchmarkA", "BenchmarkA": "BenchmarkA",
		"BenchmarkA/size-10-16": "BenchmarkA/size-10", "BenchmarkA/x-y": "BenchmarkA/x-y"} {
		require.Equal(t, want, trimProcs(in), in)
	}
}

func TestTable(t *testing.T) {
	got := table([]row{
		{"produce to Kafka", "536,923 events/s", "—", "—"},
		{"POST | failed", "0 of 1\nrequests", "0", "pass"},
	})
	require.Equal(t, "| figure | value | target | ok |\n|---|---|---|---|\n"+
		"| produce to Kafka | 536,923 events/s | — | — |\n"+
		"| POST / failed | 0 of 1 requests | 0 | pass |\n", got)
}

// TestReportRows checks the foundation's layout: every figure has its row,
// measured or not, in the order of the before/after comparisons.
func TestReportRows(t *testing.T) {
	c, err := parseFlags([]string{"--siyu", fakeBinary(t), "--quick", "--figures", "foundation,cdp"}, io.Discard)
	require.NoError(t, err)
	h := newHarness(c, io.Discard)
	h.res.build, h.res.raw, h.res.rawViews, h.res.produce = 322_911, 404_603, 193_955, 536_923
	h.res.e2e = &e2eResult{total: 1810 * time.Millisecond, rate: 110_512, steadyFor: 798 * time.Millisecond, steady: 125_270,
		committed: 2 * time.Second, hwmKB: 264 << 10, rssMaxKB: 264 << 10, profiles: 19_898}
	h.record(row{"cdp: full CSV export (9,999 members, worst of 3)", "32ms", "≤ 5s", "pass"})
	var figures []string
	for _, r := range h.rows() {
		figures = append(figures, r.figure)
	}
	require.Equal(t, []string{
		"decode + Arrow build, one core (not in the insert timing)",
		"raw columnar insert (Writer, 100k-row records, no MVs)",
		"columnar insert into events with its MVs (Writer, no Kafka)",
		"produce to Kafka (embedded broker, 200,000 events)",
		"end-to-end ingest (siyu ingest, Kafka → ClickHouse + MVs)",
		"steady-state ingest (first row visible → last)",
		"end-to-end until every offset committed (views folded)",
		"e2e / raw ratio",
		"profiles folded (contacts in profile_state)",
		"ingest peak RSS (VmHWM / sampled VmRSS max)",
		"freshness p50 / p99 / max at 20,000 events/s",
		"POST /v1/events (1,000-event batches, 4 clients)",
		"WeCom callbacks verified, decrypted and produced (siyu serve, 16 clients)",
		"cdp: full CSV export (9,999 members, worst of 3)",
	}, figures)
	rows := h.rows()
	require.Equal(t, row{"end-to-end ingest (siyu ingest, Kafka → ClickHouse + MVs)", "110,512 events/s (1.81s)",
		"≥ 100,000 events/s", "pass"}, rows[4])
	require.Equal(t, row{"e2e / raw ratio", "0.27", "≥ 0.3", "FAIL"}, rows[7])
	require.Equal(t, "not measured (see Failed)", rows[10].value)

	report := h.report()
	require.Contains(t, report, "| raw columnar insert (Writer, 100k-row records, no MVs) | 404,603 rows/s | — | — |\n")
	require.Contains(t, report, "N = 200,000 events. Command: `go run ./bench --siyu ")
}

func TestFormatting(t *testing.T) {
	require.Equal(t, "2,000,000", thousands(2_000_000))
	require.Equal(t, "-1,000", thousands(-1000))
	require.Equal(t, "999", thousands(999))
	require.Equal(t, "12.3s", round(12_345*time.Millisecond))
	require.Equal(t, "1.23s", round(1_234*time.Millisecond))
	require.Equal(t, "412ms", round(412_300*time.Microsecond))
	require.Equal(t, "710µs", round(710_400*time.Nanosecond))
	require.Equal(t, "not measured", rateValue(0, "rows/s"))
	require.Equal(t, 0.0, perSecond(10, 0))
}

// TestWireEvent checks the contract's JSON the harness writes: the
// envelope, data fields of every kind, and the record key.
func TestWireEvent(t *testing.T) {
	at := time.Date(2026, 12, 1, 8, 0, 0, 5, time.FixedZone("CST", 8*3600))
	e := wireEvent{ID: "fu-1", Source: "bench", Type: "followup.logged", Tenant: "board", Subject: "c0000001", Time: at}.
		with("staff_id", "big").with("name", `客户 "1"`).with("add_way", int64(2)).with("next_at", at.Add(time.Hour))
	require.Equal(t, "board/c0000001", e.key())
	raw := e.appendJSON(nil)
	require.Equal(t, `{"specversion":"1.0","id":"fu-1","source":"bench","type":"followup.logged","time":"2026-12-01T00:00:00.000000005Z",`+
		`"tenant":"board","subject":"c0000001","data":{"staff_id":"big","name":"客户 \"1\"","add_way":2,"next_at":"2026-12-01T01:00:00.000000005Z"}}`,
		string(raw))
	var back map[string]any
	require.NoError(t, json.Unmarshal(raw, &back))

	key, err := keyOf(raw)
	require.NoError(t, err)
	require.Equal(t, "board/c0000001", string(key))
	_, err = keyOf([]byte(`{"subject":"x"}`))
	require.Error(t, err)

	// with copies: two events built from one base do not share fields.
	base := wireEvent{ID: "a"}.with("staff_id", "s1")
	x, y := base.with("direction", "in"), base.with("direction", "out")
	require.Equal(t, "in", x.Data[1].value)
	require.Equal(t, "out", y.Data[1].value)
}

func TestStreamArgs(t *testing.T) {
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	require.Equal(t, []string{"loadgen", "--seed", "1", "--events", "200000", "--staff", "50", "--contacts", "20000",
		"--paid-share", "0.6", "--days", "30", "--start", "2026-11-05", "--tenants", "20"},
		stream{seed: seedMain, events: 200_000}.args(now))
	got := stream{seed: seedPost, events: 60_000, tenants: []string{"t0001"}}.args(now)
	require.Equal(t, []string{"--tenant-names", "t0001"}, got[len(got)-2:])
	require.Equal(t, []string{"f0001", "f0002", "f0003"}, tenantNames("f", 3))
}

// TestSealer checks the harness's WeCom side against WeCom's published
// vectors: the signature, and that what it seals opens as WeCom's does.
func TestSealer(t *testing.T) {
	const (
		token  = "QDG6eK"
		aesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
		corpID = "wx5823bf96d3bd56c7"
	)
	s, err := newSealer(token, aesKey, corpID)
	require.NoError(t, err)
	require.Equal(t, "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", s.sign("1409659589", "263014780",
		"P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="))
	// WeCom's echostr opens with the same layout the sealer writes.
	require.Equal(t, "1616140317555161061", string(open(t, aesKey, corpID,
		"P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==")))

	enc, err := s.encrypt([]byte("<xml>hello</xml>"))
	require.NoError(t, err)
	require.Equal(t, "<xml>hello</xml>", string(open(t, aesKey, corpID, enc)))
	_, err = newSealer(token, "short", corpID)
	require.Error(t, err)

	calls, err := sealCallbacks(s, "http://127.0.0.1:1/wecom/callback/t0002", 3, time.Unix(1409659589, 0))
	require.NoError(t, err)
	require.Len(t, calls, 3)
	require.Contains(t, calls[0].url, "timestamp=1409659589")
	require.Contains(t, string(calls[2].body), "<xml><ToUserName><![CDATA["+wecomCorpID+"]]></ToUserName><Encrypt><![CDATA[")
}

// open decrypts a payload as WeCom's receivers do (the reverse of
// sealer.encrypt), checking the padding and the receive id.
func open(t *testing.T, encodingAESKey, receiveID, payload string) []byte {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	require.NoError(t, err)
	buf, err := base64.StdEncoding.DecodeString(payload)
	require.NoError(t, err)
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	require.Zero(t, len(buf)%32, "padded to 32-byte blocks")
	cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(buf, buf)
	pad := int(buf[len(buf)-1])
	require.True(t, pad >= 1 && pad <= 32)
	buf = buf[:len(buf)-pad]
	n := binary.BigEndian.Uint32(buf[16:])
	require.Equal(t, receiveID, string(buf[20+n:]))
	return buf[20 : 20+n]
}

func TestProfileRows(t *testing.T) {
	rows := profileRows(20_000, []float64{0.42, 3.5, 12_345, 0, 2.1, 9.8, 3_000, 1_234})
	require.Equal(t, []row{
		{"profile read by any id, p50 / p99 (8 clients, 20,000 contacts; tenant in memory)", "0.4 ms / 3.5 ms", "p99 ≤ 20 ms", "pass"},
		{"profile reads per second (tenant in memory)", "12,345 reads/s", "—", "—"},
		{"the same reads from ClickHouse only, p50 / p99, reads/s (same run)", "2.1 ms / 9.8 ms, 3,000 reads/s", "—", "—"},
		{"loading the tenant into memory (cdp.Memory)", "1.23s", "—", "—"},
		{"profile read failures", "0", "0", "pass"},
	}, rows)
	require.Equal(t, "FAIL", profileRows(1, []float64{1, 25, 1, 2, 1, 1, 1, 1})[0].ok)
}

func TestViewRows(t *testing.T) {
	m := map[string]float64{"views": 2, "none-rows/s": 400_000, "none-ns/row": 900, "all-rows/s": 200_000, "all-ns/row": 2500,
		"alone-ns/row:profile_mv": 300, "inall-ns/row:profile_mv": 280, "alone-ns/row:tags_mv": 700, "inall-ns/row:tags_mv": 650}
	rows := viewRows(m, &viewsSizes{events: 100_000, rounds: 1, inAll: true, each: true})
	require.Equal(t, []row{
		{"views: insert into events without views (100,000 rows in inserts of the pipeline's batch, median of 1)", "400,000 rows/s, 900 ns CPU/row", "—", "—"},
		{"views: insert into events with all 2 views", "200,000 rows/s, 2500 ns CPU/row", "—", "—"},
		{"views: cost of tags_mv", "700 ns CPU/row alone, 650 in all", "—", "—"},
		{"views: cost of profile_mv", "300 ns CPU/row alone, 280 in all", "—", "—"},
	}, rows)
	env := (&viewsSizes{events: 5, rounds: 2, rows: 1000}).env()
	require.Contains(t, env, "SIYU_BENCH_VIEWS_ROWS=1000")
	require.Contains(t, env, "SIYU_BENCH_VIEWS_EVENTS=5")
}

// TestCPUMeterExited: a component that has exited is counted from its
// recorded total, not left to "other processes".
func TestCPUMeterExited(t *testing.T) {
	m := startCPUMeter(map[string]int{"self": os.Getpid(), "gone": os.Getpid()})
	m.exited("gone", m.from["gone"]+time.Hour)
	time.Sleep(10 * time.Millisecond)
	cores := m.cores()
	require.Greater(t, cores["gone"], 100.0, "an hour of CPU in a few milliseconds")
	require.Contains(t, cores, "self")
}
