package console_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lighthouseBin is Lighthouse as npm installs it (scripts/assets; pinned
// 12.2.3 by web/package-lock.json).
const lighthouseBin = "web/node_modules/.bin/lighthouse"

// targetFCP is the sidebar's first contentful paint on a phone (Lighthouse's
// mobile emulation: a mid-range phone, throttled 4G and CPU).
const targetFCP = time.Second

// TestLighthouse runs Lighthouse (mobile, its default) on the sidebar and
// the segment builder of the demo, signed in, and logs their scores and
// first contentful paint; the sidebar's must be within targetFCP. It runs
// with SIYU_LIGHTHOUSE=<dir for the reports> (make bench does).
func TestLighthouse(t *testing.T) {
	dir := os.Getenv("SIYU_LIGHTHOUSE")
	if dir == "" {
		t.Skip("set SIYU_LIGHTHOUSE=<dir> (make bench)")
	}
	if _, err := os.Stat(lighthouseBin); err != nil {
		t.Fatalf("lighthouse is missing (%v): run scripts/assets", err)
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	started(t)
	for _, p := range []struct{ name, role, path string }{
		{"sidebar", "rep", "/sidebar?contact=" + site.demo.ContactID},
		{"segment-builder", "marketer", "/app/segments"},
	} {
		cookie := sessionCookie(t, p.role)
		headers := filepath.Join(dir, p.name+"-headers.json")
		h, _ := json.Marshal(map[string]string{"Cookie": "siyu_session=" + cookie})
		require.NoError(t, os.WriteFile(headers, h, 0o600))
		report := filepath.Join(dir, p.name+".json")
		cmd := exec.Command(lighthouseBin, site.base+p.path, "--output=json", "--output-path="+report, "--quiet",
			"--only-categories=performance,accessibility,best-practices", "--extra-headers="+headers,
			"--chrome-flags=--headless=new --no-sandbox --disable-gpu")
		cmd.Env = append(os.Environ(), "CHROME_PATH="+chromePath())
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "lighthouse %s: %s", p.path, out)
		b, err := os.ReadFile(report)
		require.NoError(t, err)
		var r struct {
			FinalURL   string `json:"finalDisplayedUrl"`
			Categories map[string]struct {
				Score float64 `json:"score"`
			} `json:"categories"`
			Audits map[string]struct {
				NumericValue float64 `json:"numericValue"`
			} `json:"audits"`
		}
		require.NoError(t, json.Unmarshal(b, &r))
		require.NotContains(t, r.FinalURL, "/login", "Lighthouse measured the signed-in page, not the sign-in form")
		fcp := time.Duration(r.Audits["first-contentful-paint"].NumericValue * float64(time.Millisecond))
		t.Logf("FIGURE lighthouse %s (mobile): performance %.0f, accessibility %.0f, best practices %.0f; first contentful paint %s, largest %s, total blocking %s",
			p.name, 100*r.Categories["performance"].Score, 100*r.Categories["accessibility"].Score, 100*r.Categories["best-practices"].Score,
			fcp.Round(time.Millisecond), ms(r.Audits["largest-contentful-paint"].NumericValue), ms(r.Audits["total-blocking-time"].NumericValue))
		if p.name == "sidebar" {
			require.LessOrEqual(t, fcp, targetFCP, "the sidebar's first contentful paint")
		}
	}
}

func ms(v float64) time.Duration {
	return time.Duration(v * float64(time.Millisecond)).Round(time.Millisecond)
}

// sessionCookie signs the demo user of role in through the API and
// returns the session token.
func sessionCookie(t *testing.T, role string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"login": site.demo.Users[role], "password": site.demo.Password})
	resp, err := http.Post(site.base+"/v1/sessions", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	for _, c := range resp.Cookies() {
		if c.Name == "siyu_session" {
			return c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}
