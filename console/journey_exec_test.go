package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/reporting"
)

// TestJourneyExecAdoption: the executive lands on the adoption page, sees
// the charts (accessible SVG with their data tables), the KPIs, the
// retention heatmap and the contact meter, narrows the date range with the
// form, is told plainly when a range is too long, and cannot open billing
// or admin pages.
func TestJourneyExecAdoption(t *testing.T) {
	ctx := tab(t)
	signIn(t, ctx, "exec")
	require.Equal(t, "/app/adoption", location(t, ctx))
	require.Equal(t, "活跃员工", text(t, ctx, "[data-test=chart-active] figcaption b"))
	title, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS("[data-test=chart-active] svg title")))
	require.NoError(t, err)
	require.Equal(t, "活跃员工", title, "each chart names itself to screen readers")
	for _, sel := range []string{"[data-test=kpi-mau] b", "[data-test=kpi-dau] b", "[data-test=kpi-stickiness] b"} {
		require.NotEmpty(t, text(t, ctx, sel), sel)
	}
	require.Contains(t, text(t, ctx, "[data-test=retention] h2"), "留存")
	require.NotEmpty(t, text(t, ctx, "[data-test=meter-contacts-value]"))
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-test=chart-active] details tbody tr").length`))
	require.NoError(t, err)
	require.Equal(t, 30, rows, "the data table has a row a day of the default 30 days")
	// The demo's staff are active: the monthly actives are not zero.
	require.NotEqual(t, "0", text(t, ctx, "[data-test=kpi-mau] b"))

	// A narrower range through the form.
	today := time.Now().In(reporting.Zone)
	from := today.AddDate(0, 0, -6).Format("2006-01-02")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#from"), from),
		chromedp.Click(chromedp.CSS("[data-test=apply]")),
	))
	waitLocation(t, ctx, "from="+from)
	rows, err = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-test=chart-active] details tbody tr").length`))
	require.NoError(t, err)
	require.Equal(t, 7, rows)

	// A range the API refuses is told beside the form.
	status := open(t, ctx, "/app/adoption?from=2020-01-01&to="+today.Format("2006-01-02"))
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, text(t, ctx, "[data-test=error]"), "400")
	require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#to[aria-invalid=true]`))))

	// The walls: billing and admin pages are not the executive's.
	for _, path := range []string{"/app/billing", "/app/admin", "/app/admin/keys"} {
		require.Equal(t, http.StatusForbidden, open(t, ctx, path), path)
		require.Contains(t, text(t, ctx, "[data-test=error]"), "管理层", path)
	}
}

// TestJourneyExecAdoptionPhone: the page works at phone width: the charts
// scale to the screen and nothing overflows it sideways.
func TestJourneyExecAdoptionPhone(t *testing.T) {
	ctx := tab(t)
	phone(t, ctx)
	signIn(t, ctx, "exec")
	require.Equal(t, "/app/adoption", location(t, ctx))
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	require.NoError(t, err)
	require.False(t, wide, "the page fits a 390 px screen")
	w, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector("[data-test=chart-active] svg").getBoundingClientRect().width`))
	require.NoError(t, err)
	require.LessOrEqual(t, w, 390.0)
	require.True(t, strings.Contains(text(t, ctx, "[data-test=retention] h2"), "留存"))
}
