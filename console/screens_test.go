package console_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// screen is a main page to photograph (TestScreenshots): whose page, where,
// and the file name.
type screen struct{ role, path, name string }

// allScreens are every group's main pages, with the demo's customer in
// place of {contact_id} (call it once the site has started).
func allScreens() []screen {
	out := slices.Concat(loginScreens, repScreens, teamScreens, marketerScreens, customerScreens, adminScreens, uiScreens)
	for i := range out {
		out[i].path = strings.ReplaceAll(out[i].path, "{contact_id}", site.demo.ContactID)
	}
	return out
}

var loginScreens = []screen{{role: "", path: "/login", name: "login"}}

// TestScreenshots photographs each main page at phone (390 px) and desktop
// (1280 px) width into $SIYU_SCREENSHOTS (`make screenshots`), so that a
// person can look at them; without it the test is skipped.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("SIYU_SCREENSHOTS")
	if dir == "" {
		t.Skip("set SIYU_SCREENSHOTS=<dir> (make screenshots)")
	}
	started(t)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	tabs := map[string]chromedpTab{}
	for _, s := range allScreens() {
		tb, ok := tabs[s.role]
		if !ok {
			tb = chromedpTab{ctx: tab(t)}
			if s.role != "" {
				signIn(t, tb.ctx, s.role)
			}
			tabs[s.role] = tb
		}
		for _, size := range []struct {
			name   string
			w, h   int64
			mobile bool
		}{{"phone", 390, 844, true}, {"desktop", 1280, 900, false}} {
			opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
			if size.mobile {
				opts = []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile}
			}
			require.NoError(t, chromedp.Do(tb.ctx, chromedp.EmulateViewport(size.w, size.h, opts...)))
			open(t, tb.ctx, s.path)
			png, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
			require.NoError(t, err, "screenshot of %s", s.path)
			file := filepath.Join(dir, s.name+"-"+size.name+".png")
			require.NoError(t, os.WriteFile(file, png, 0o644))
			t.Logf("%s (%s as %s)", file, s.path, s.role)
		}
	}
}

type chromedpTab struct{ ctx context.Context }
