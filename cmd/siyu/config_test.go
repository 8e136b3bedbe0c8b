package main

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/siyu-dev/siyu/wecom"
)

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("the defaults are refused: %v", err)
	}
}

// TestConfigRefusesBadSettings: every command validates its whole
// configuration once, before it starts anything, and names the flag.
func TestConfigRefusesBadSettings(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--http-addr", "8080"}, `--http-addr "8080": want host:port`},
		{[]string{"serve", "--request-timeout", "0s"}, "--request-timeout 0s: want 100ms to 10m"},
		{[]string{"run", "--write-timeout", "1h"}, "--write-timeout 1h0m0s: want 1s to 10m"},
		{[]string{"serve", "--grafana-url", "grafana:3000"}, `--grafana-url "grafana:3000": want an absolute http:// or https:// URL`},
		{[]string{"run", "--grafana-url", "ftp://g.example"}, `--grafana-url "ftp://g.example"`},
		{[]string{"serve", "--grafana-url", "https://u:p@g.example/"}, "want no user, query or fragment"},
		{[]string{"serve", "--grafana-token", "glsa_x"}, "--grafana-token needs --grafana-url"},
		{[]string{"serve", "--partitions", "0"}, "--partitions 0: want 1 to 10000"},
		{[]string{"serve", "--topic", "a b"}, `--topic "a b"`},
		{[]string{"serve", "--dlq-topic", "siyu.events"}, "must differ from --topic"},
		{[]string{"serve", "--kafka-brokers", "nohost"}, `--kafka-brokers "nohost"`},
		{[]string{"serve", "--ingest-stall-after", "0s"}, "--ingest-stall-after 0s"},
		{[]string{"serve", "--clickhouse-dsn", "clickhouse://[bad"}, "--clickhouse-dsn"},
		{[]string{"ingest", "--batch-max-rows", "0"}, "--batch-max-rows 0"},
		{[]string{"ingest", "--batch-max-bytes", "1000"}, "--batch-max-bytes 1000: want at least 1048588"},
		{[]string{"ingest", "--batch-max-wait", "0s"}, "--batch-max-wait 0s"},
		{[]string{"ingest", "--insert-workers", "0"}, "--insert-workers 0"},
		{[]string{"ingest", "--kafka-session-timeout", "10ms"}, "--kafka-session-timeout 10ms"},
		{[]string{"ingest", "--metrics-addr", "x"}, `--metrics-addr "x"`},
		{[]string{"ingest", "--memory-limit-mb", "-1"}, "--memory-limit-mb -1"},
		{[]string{"ingest", "--group", ""}, "--group: must not be empty"},
		{[]string{"run", "--log-level", "loud"}, `--log-level "loud"`},
		{[]string{"run", "--log-format", "xml"}, `--log-format "xml"`},
		{[]string{"run", "--clickhouse-port", "70000"}, "--clickhouse-port 70000"},
		{[]string{"run", "--clickhouse-http-port", "19000"}, "must differ from --clickhouse-port"},
		{[]string{"run", "--demo-events", "0"}, "--demo-events 0"},
		{[]string{"run", "--kafka-addr", ":x"}, `--kafka-addr ":x"`},
		{[]string{"keys", "create", "--database", "x-y"}, `--database "x-y"`},
		{[]string{"migrate", "up", "--data-dir", ""}, "--data-dir: must not be empty"},
		{[]string{"serve", "--wecom-api-base", "qyapi.weixin.qq.com"}, `--wecom-api-base: "qyapi.weixin.qq.com" is not an absolute http(s) URL`},
		{[]string{"serve", "--wecom-oauth-base", "ftp://open.weixin.qq.com"}, `--wecom-oauth-base: "ftp://open.weixin.qq.com"`},
		{[]string{"run", "--wecom-qr-base", "https://login.work.weixin.qq.com?x=1"}, `--wecom-qr-base: "https://login.work.weixin.qq.com?x=1"`},
		{[]string{"run", "--wecom-api-base", ""}, `--wecom-api-base: "" is not an absolute http(s) URL`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2 (a usage error); stderr: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q does not say %q", stderr.String(), tc.want)
			}
		})
	}
}

// TestConfigFromEnvironmentIsValidatedToo: a SIYU_ variable is checked
// like its flag.
func TestConfigFromEnvironmentIsValidatedToo(t *testing.T) {
	t.Setenv("SIYU_HTTP_ADDR", "nowhere")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"serve"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), `--http-addr "nowhere"`) {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

// TestFlagHelpIsOneLineEach: `--help` prints a flag a line, in columns; a
// usage with a line break would break the table.
func TestFlagHelpIsOneLineEach(t *testing.T) {
	for _, c := range commands(io.Discard, io.Discard) {
		if c.flags == nil {
			continue
		}
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fs)
		fs.VisitAll(func(f *flag.Flag) {
			if strings.Contains(f.Usage, "\n") {
				t.Errorf("siyu %s --%s: its help has a line break", c.name, f.Name)
			}
		})
	}
}

// TestGrafanaURLAccepted: the console links <url>/d/<uid>, so an absolute
// http(s) address with an optional path prefix is what the flag takes.
func TestGrafanaURLAccepted(t *testing.T) {
	for _, ok := range []string{"", "http://127.0.0.1:3000", "https://grafana.example/", "https://ops.example/grafana"} {
		if err := checkGrafanaURL(ok); err != nil {
			t.Errorf("--grafana-url %q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"/grafana", "grafana.example", "https://", "https://g.example/?orgId=1", "javascript:alert(1)"} {
		if checkGrafanaURL(bad) == nil {
			t.Errorf("--grafana-url %q accepted", bad)
		}
	}
}

// TestWeComEndpointsBind: serve and run take WeCom's endpoints from their
// flags (a stand-in or a proxy) and default to WeCom's own.
func TestWeComEndpointsBind(t *testing.T) {
	for _, c := range commands(io.Discard, io.Discard) {
		if c.name != "serve" && c.name != "run" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			*c.config = DefaultConfig()
			fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
			c.flags(fs)
			if err := fs.Parse([]string{"--wecom-api-base", "http://127.0.0.1:9001", "--wecom-qr-base", "https://sso.example/"}); err != nil {
				t.Fatal(err)
			}
			if err := c.config.Validate(); err != nil {
				t.Fatalf("refused: %v", err)
			}
			got := c.config.WeCom.endpoints
			want := wecom.Endpoints{API: "http://127.0.0.1:9001", OAuth: wecom.DefaultOAuthBase, QRLogin: "https://sso.example/"}
			if got != want {
				t.Fatalf("endpoints %+v, want %+v", got, want)
			}
		})
	}
}
