package console_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// axeFile is axe-core as npm installs it (scripts/assets; pinned by
// web/package-lock.json).
const axeFile = "web/node_modules/axe-core/axe.min.js"

// axeResult is what the check keeps of axe.run's answer.
type axeResult struct {
	Violations []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []string `json:"target"`
		} `json:"nodes"`
	} `json:"violations"`
	Passes int `json:"passes"`
}

// TestAccessibility runs axe-core (WCAG 2.1 A and AA rules) on every main
// page at phone and desktop width: none may have a violation.
func TestAccessibility(t *testing.T) {
	started(t)
	src, err := os.ReadFile(axeFile)
	if err != nil {
		t.Fatalf("axe-core is missing (%v): run scripts/assets, which installs the pinned front-end packages with npm", err)
	}
	tabs := map[string]chromedpTab{}
	for _, s := range allScreens() {
		tb, ok := tabs[s.role]
		if !ok {
			tb = chromedpTab{ctx: tab(t)}
			// axe is injected through the DevTools protocol, which the
			// pages' Content-Security-Policy would otherwise refuse.
			require.NoError(t, chromedp.Do(tb.ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true})
				return err
			})))
			if s.role != "" {
				signIn(t, tb.ctx, s.role)
			}
			tabs[s.role] = tb
		}
		for _, width := range []int64{390, 1280} {
			opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
			if width < 500 {
				opts = []chromedp.EmulateViewportOption{chromedp.EmulateScale(2), chromedp.EmulateMobile}
			}
			require.NoError(t, chromedp.Do(tb.ctx, chromedp.EmulateViewport(width, 900, opts...)))
			open(t, tb.ctx, s.path)
			res, err := chromedp.Run(tb.ctx, chromedp.Evaluate[axeResult](string(src)+`;
				axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
					.then(r => ({violations: r.violations, passes: r.passes.length}))`, chromedp.EvalAwaitPromise))
			require.NoError(t, err, "axe on %s", s.path)
			var found []string
			for _, v := range res.Violations {
				var where []string
				for _, n := range v.Nodes {
					where = append(where, strings.Join(n.Target, " "))
				}
				found = append(found, fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(where, "; ")))
			}
			t.Logf("FIGURE axe %s %dpx: %d rules passed, %d violations", s.path, width, res.Passes, len(res.Violations))
			require.Empty(t, found, "axe on %s as %s at %d px", s.path, s.role, width)
		}
	}
}
