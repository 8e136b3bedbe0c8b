package dashboards

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/siyu-dev/siyu/internal/reporting"
)

// Result is a panel query's answer, column by column as ClickHouse gave it:
// each value is a float64, a time.Time, a string or nil.
type Result struct {
	Columns []string
	Rows    [][]any
}

// Size of a preview image, in pixels.
const (
	previewW = 900
	previewH = 420
)

var (
	white   = color.RGBA{255, 255, 255, 255}
	ink     = color.RGBA{33, 37, 41, 255}
	faint   = color.RGBA{134, 142, 150, 255}
	rule    = color.RGBA{222, 226, 230, 255}
	palette = []color.RGBA{ // Grafana's classic series colours
		{115, 191, 105, 255}, {242, 204, 12, 255}, {87, 148, 242, 255}, {255, 120, 10, 255},
		{242, 73, 92, 255}, {184, 119, 217, 255}, {31, 120, 193, 255}, {150, 115, 85, 255},
	}
)

// Render draws one panel's result as Grafana would show it, roughly: a
// time series as lines (or bars when the panel draws bars), a stat as its
// last value in large type, a table as a table. It is pure: the same
// result gives the same pixels.
func Render(p Panel, res Result) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, previewW, previewH))
	draw.Draw(img, img.Bounds(), image.NewUniform(white), image.Point{}, draw.Src)
	text(img, 16, 28, p.Title, ink, 20)
	switch p.Type {
	case "stat":
		renderStat(img, p, res)
	case "table":
		renderTable(img, res)
	default:
		renderSeries(img, p, seriesOf(res))
	}
	return img
}

// series is one named line of a time series.
type series struct {
	Name   string
	Points map[int64]float64 // unix seconds → value
}

// seriesOf reads a time-series result as the plugin does: the first column
// is the time; in the wide form every other numeric column is a series, in
// the long form (time, label, value) each label is one.
func seriesOf(res Result) []series {
	if len(res.Columns) < 2 {
		return nil
	}
	long := len(res.Columns) == 3 && len(res.Rows) > 0 && isString(res.Rows[0][1])
	byName := map[string]*series{}
	var order []string
	add := func(name string, t int64, v float64) {
		s, ok := byName[name]
		if !ok {
			s = &series{Name: name, Points: map[int64]float64{}}
			byName[name] = s
			order = append(order, name)
		}
		s.Points[t] += v
	}
	for _, row := range res.Rows {
		t, ok := row[0].(time.Time)
		if !ok {
			continue
		}
		if long {
			if v, ok := row[2].(float64); ok {
				add(fmt.Sprint(row[1]), t.Unix(), v)
			}
			continue
		}
		for i := 1; i < len(row); i++ {
			if v, ok := row[i].(float64); ok {
				add(res.Columns[i], t.Unix(), v)
			}
		}
	}
	sort.Strings(order)
	out := make([]series, len(order))
	for i, n := range order {
		out[i] = *byName[n]
	}
	return out
}

func isString(v any) bool { _, ok := v.(string); return ok }

// plot is the chart area inside the image.
var plot = image.Rect(80, 70, previewW-24, previewH-48)

func renderSeries(img *image.RGBA, p Panel, ss []series) {
	bars := p.FieldConfig.Defaults.Custom != nil && p.FieldConfig.Defaults.Custom.DrawStyle == "bars"
	times, maxV := span(ss, bars)
	if len(times) == 0 {
		text(img, plot.Min.X, plot.Min.Y+40, "No data in this range", faint, 18)
		return
	}
	top := niceCeil(maxV)
	yAxis(img, top, p.FieldConfig.Defaults.Unit)
	xAxis(img, times)
	base := map[int64]float64{} // stacked bars: the top of the bars below
	for i, s := range ss {
		c := palette[i%len(palette)]
		if bars {
			drawBars(img, s, times, top, c, base)
		} else {
			drawLine(img, s, times, top, c)
		}
	}
	legend(img, ss)
}

// span returns the sorted distinct times of all series and the largest
// value, or the largest sum per time when the series are stacked.
func span(ss []series, stacked bool) ([]int64, float64) {
	sums := map[int64]float64{}
	var times []int64
	maxV := 0.0
	for _, s := range ss {
		for t, v := range s.Points {
			if _, ok := sums[t]; !ok {
				times = append(times, t)
			}
			sums[t] += v
			maxV = math.Max(maxV, v)
			if stacked {
				maxV = math.Max(maxV, sums[t])
			}
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times, maxV
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func xOf(times []int64, t int64) int {
	if len(times) == 1 {
		return (plot.Min.X + plot.Max.X) / 2
	}
	f := float64(t-times[0]) / float64(times[len(times)-1]-times[0])
	return plot.Min.X + int(f*float64(plot.Dx()))
}

func yOf(v, top float64) int { return plot.Max.Y - int(v/top*float64(plot.Dy())) }

func yAxis(img *image.RGBA, top float64, unit string) {
	const ticks = 5
	for i := 0; i <= ticks; i++ {
		v := top * float64(i) / ticks
		y := yOf(v, top)
		hline(img, plot.Min.X, plot.Max.X, y, rule)
		label := formatValue(v, unit)
		text(img, plot.Min.X-8-width(label, 12), y+4, label, faint, 12)
	}
	vline(img, plot.Min.X, plot.Min.Y, plot.Max.Y, ink)
	hline(img, plot.Min.X, plot.Max.X, plot.Max.Y, ink)
}

// xAxis labels about seven evenly spaced times as reporting days.
func xAxis(img *image.RGBA, times []int64) {
	step := (len(times) + 6) / 7
	for i := 0; i < len(times); i += step {
		x := xOf(times, times[i])
		vline(img, x, plot.Max.Y, plot.Max.Y+5, ink)
		label := time.Unix(times[i], 0).In(reporting.Zone).Format("01-02")
		text(img, x-width(label, 12)/2, plot.Max.Y+20, label, faint, 12)
	}
}

func drawLine(img *image.RGBA, s series, times []int64, top float64, c color.RGBA) {
	prevX, prevY, have := 0, 0, false
	for _, t := range times {
		v, ok := s.Points[t]
		if !ok {
			have = false
			continue
		}
		x, y := xOf(times, t), yOf(v, top)
		if have {
			line(img, prevX, prevY, x, y, c)
		}
		fill(img, image.Rect(x-2, y-2, x+3, y+3), c)
		prevX, prevY, have = x, y, true
	}
}

// drawBars stacks s on the bars already drawn at each time (base).
func drawBars(img *image.RGBA, s series, times []int64, top float64, c color.RGBA, base map[int64]float64) {
	w := max(1, plot.Dx()/(len(times)+1)*3/4)
	for _, t := range times {
		v, ok := s.Points[t]
		if !ok || v == 0 {
			continue
		}
		x := xOf(times, t) - w/2
		fill(img, image.Rect(x, yOf(base[t]+v, top), x+w, yOf(base[t], top)), c)
		base[t] += v
	}
}

// legend names the series in one row, "…" when they do not fit.
func legend(img *image.RGBA, ss []series) {
	x := plot.Min.X
	for i, s := range ss {
		if x+16+width(s.Name, 12) > previewW-90 {
			text(img, x, 55, fmt.Sprintf("+%d more", len(ss)-i), faint, 12)
			return
		}
		fill(img, image.Rect(x, 45, x+12, 55), palette[i%len(palette)])
		text(img, x+16, 55, s.Name, ink, 12)
		x += 16 + width(s.Name, 12) + 20
	}
}

// renderStat shows the last non-null value of the result's last numeric
// column, as Grafana's stat panel does by default (lastNotNull).
func renderStat(img *image.RGBA, p Panel, res Result) {
	label, have := "No data", false
	var v float64
	for _, row := range res.Rows {
		for i := len(row) - 1; i >= 0; i-- {
			if f, ok := row[i].(float64); ok {
				v, have = f, true
				break
			}
		}
	}
	if have {
		label = formatValue(v, p.FieldConfig.Defaults.Unit)
	}
	size := 160.0
	for size > 16 && width(label, size) > previewW-60 {
		size -= 8
	}
	c := palette[0]
	if !have {
		c = faint
	}
	text(img, (previewW-width(label, size))/2, previewH/2+int(size*0.35), label, c, size)
	text(img, 16, previewH-20, p.Description, faint, 12)
}

// renderTable draws the columns and as many rows as fit.
func renderTable(img *image.RGBA, res Result) {
	const rowH, top = 22, 60
	if len(res.Columns) == 0 {
		return
	}
	colW := (previewW - 32) / len(res.Columns)
	fill(img, image.Rect(16, top, previewW-16, top+rowH), rule)
	for j, c := range res.Columns {
		text(img, 24+j*colW, top+16, clip(c, colW-8), ink, 13)
	}
	for i, row := range res.Rows {
		y := top + (i+1)*rowH
		if y+rowH > previewH-8 {
			text(img, 24, y+16, fmt.Sprintf("… %d more row(s)", len(res.Rows)-i), faint, 13)
			break
		}
		for j, v := range row {
			text(img, 24+j*colW, y+16, clip(cell(v), colW-8), ink, 13)
		}
		hline(img, 16, previewW-16, y+rowH, rule)
	}
}

// clip shortens s with "…" until it fits w pixels at the table's size.
func clip(s string, w int) string {
	if width(s, 13) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && width(string(r)+"…", 13) > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		return x.In(reporting.Zone).Format(time.DateTime)
	}
	return fmt.Sprint(v)
}

// formatValue writes v in a panel unit, as Grafana would.
func formatValue(v float64, unit string) string {
	switch unit {
	case "percentunit":
		return strconv.FormatFloat(v*100, 'f', trimDigits(v*100), 64) + "%"
	case "percent":
		return strconv.FormatFloat(v, 'f', trimDigits(v), 64) + "%"
	case "m":
		return strconv.FormatFloat(v, 'f', trimDigits(v), 64) + " min"
	case "s":
		if v >= 3600 {
			return strconv.FormatFloat(v/3600, 'f', 1, 64) + " h"
		}
		if v >= 60 {
			return strconv.FormatFloat(v/60, 'f', 1, 64) + " min"
		}
		return strconv.FormatFloat(v, 'f', trimDigits(v), 64) + " s"
	}
	return strconv.FormatFloat(v, 'f', trimDigits(v), 64)
}

// trimDigits keeps one decimal for small fractional values, none otherwise.
func trimDigits(v float64) int {
	if v != math.Trunc(v) && math.Abs(v) < 100 {
		return 1
	}
	return 0
}

// goRegular is the Go font, parsed once; faces are made per size and
// cached. Faces are not safe for concurrent use, hence the lock.
var (
	goRegular = mustParseFont(goregular.TTF)
	facesMu   sync.Mutex
	faces     = map[float64]font.Face{}
)

func mustParseFont(ttf []byte) *opentype.Font {
	f, err := opentype.Parse(ttf)
	if err != nil {
		panic(fmt.Sprintf("dashboards: parse the Go font: %v", err))
	}
	return f
}

// faceOf returns the cached face of a size; facesMu must be held.
func faceOf(size float64) font.Face {
	if f, ok := faces[size]; ok {
		return f
	}
	f, err := opentype.NewFace(goRegular, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		panic(fmt.Sprintf("dashboards: Go font at %v pt: %v", size, err))
	}
	faces[size] = f
	return f
}

// text draws s with its baseline at y, in the Go font at size pixels.
func text(img *image.RGBA, x, y int, s string, c color.RGBA, size float64) {
	facesMu.Lock()
	defer facesMu.Unlock()
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: faceOf(size), Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// width is how wide s draws at size.
func width(s string, size float64) int {
	facesMu.Lock()
	defer facesMu.Unlock()
	return font.MeasureString(faceOf(size), s).Ceil()
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r.Intersect(img.Bounds()), image.NewUniform(c), image.Point{}, draw.Src)
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) { fill(img, image.Rect(x0, y, x1+1, y+1), c) }
func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) { fill(img, image.Rect(x, y0, x+1, y1+1), c) }

// line draws a two-pixel-thick segment (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		fill(img, image.Rect(x0, y0, x0+2, y0+2), c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v < 0:
		return -1
	case v > 0:
		return 1
	}
	return 0
}
