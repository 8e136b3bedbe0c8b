package dashboards_test

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/dashboards"
)

// checkPreview previews every panel from the data conn holds and checks
// the images: one per panel, each a PNG that is not blank, all listed in
// index.html. Called by TestPanelsOnClickHouse, which loaded the data.
func checkPreview(t *testing.T, ctx context.Context, conn driver.Conn, from, to time.Time) {
	dir := t.TempDir()
	var progress []string
	got, err := dashboards.Preview(ctx, conn, dashboards.PreviewConfig{Dir: dir, From: from, To: to},
		func(r dashboards.Rendered) { progress = append(progress, r.File) })
	require.NoError(t, err)
	want := 0
	for _, d := range dashboards.All() {
		want += len(d.Panels)
	}
	require.Len(t, got, want)
	require.Len(t, progress, want, "one progress call per panel")
	index, err := os.ReadFile(filepath.Join(dir, "index.html"))
	require.NoError(t, err)
	pngs, err := filepath.Glob(filepath.Join(dir, "*.png"))
	require.NoError(t, err)
	require.Len(t, pngs, want)
	for _, r := range got {
		require.Equal(t, dashboards.PreviewFile(r.Dashboard, r.Panel), r.File)
		require.Contains(t, string(index), `src="`+r.File+`"`)
		img := decodePNG(t, filepath.Join(dir, r.File))
		require.Greater(t, variance(img), 100.0, "%s (%s) looks blank", r.File, r.Panel.Title)
	}
	if os.Getenv("SIYU_KEEP_PREVIEW") != "" { // to look at them: copy before TempDir cleanup
		require.NoError(t, os.CopyFS(os.Getenv("SIYU_KEEP_PREVIEW"), os.DirFS(dir)))
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err, path)
	return img
}

// variance is the variance of the grey level over the plot area (below the
// title), so a chart with no series or an empty table scores low.
func variance(img image.Image) float64 {
	b := img.Bounds()
	var sum, sq, n float64
	for y := b.Min.Y + 40; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			v := float64(r+g+bl) / 3 / 257
			sum += v
			sq += v * v
			n++
		}
	}
	m := sum / n
	return sq/n - m*m
}

// TestRenderShapes draws each panel shape from a hand-made result and
// checks the result is not blank and that "no data" stays near-blank.
func TestRenderShapes(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 9, d, 0, 0, 0, 0, time.UTC) }
	wide := dashboards.Result{Columns: []string{"time", "dau"},
		Rows: [][]any{{day(1), 3.0}, {day(2), 5.0}, {day(3), 4.0}}}
	long := dashboards.Result{Columns: []string{"time", "channel", "n"},
		Rows: [][]any{{day(1), "qr", 3.0}, {day(1), "link", 1.0}, {day(2), "qr", 2.0}}}
	table := dashboards.Result{Columns: []string{"tenant", "contacts", "cap"},
		Rows: [][]any{{"t0001", 120.0, 100.0}, {"t0002", 80.0, nil}}}
	for _, tc := range []struct {
		name  string
		panel dashboards.Panel
		res   dashboards.Result
		blank bool
	}{
		{"line", dashboards.Panel{Type: "timeseries", Title: "DAU"}, wide, false},
		{"long form", dashboards.Panel{Type: "timeseries", Title: "New contacts"}, long, false},
		{"stat", dashboards.Panel{Type: "stat", Title: "Contacts"}, wide, false},
		{"table", dashboards.Panel{Type: "table", Title: "Caps"}, table, false},
		{"no data", dashboards.Panel{Type: "timeseries", Title: "DAU"}, dashboards.Result{Columns: []string{"time", "dau"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := variance(dashboards.Render(tc.panel, tc.res))
			t.Logf("variance %.1f", v)
			if tc.blank {
				require.Less(t, v, 100.0)
				return
			}
			require.Greater(t, v, 100.0)
		})
	}
	require.True(t, strings.HasSuffix(dashboards.PreviewFile(dashboards.Adoption(), dashboards.Adoption().Panels[0]), "siyu-adoption-1.png"))
}

// TestRenderSlopes draws lines in every direction (a broken line loop
// would never end).
func TestRenderSlopes(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 9, d, 0, 0, 0, 0, time.UTC) }
	res := dashboards.Result{Columns: []string{"time", "v"},
		Rows: [][]any{{day(1), 3.0}, {day(2), 50.0}, {day(3), 0.0}, {day(4), 0.0}, {day(5), 7.5}, {day(20), 1.0}}}
	require.Greater(t, variance(dashboards.Render(dashboards.Panel{Type: "timeseries", Title: "x"}, res)), 100.0)
}
