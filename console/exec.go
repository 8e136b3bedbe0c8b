package console

import (
	"maps"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/dashboards"
	"github.com/siyu-dev/siyu/metering"
)

// execPages are the executive's pages: adoption, engagement, retention and
// the contact meters, from /v1/metrics and /v1/meters.
func (cons *Console) execPages() []page {
	return []page{{
		path: "/app/adoption", nav: "exec.nav",
		roles: []auth.Role{auth.RoleExec, auth.RoleAdmin, auth.RolePlatform},
		get:   cons.adoptionPage,
	}}
}

// defaultRangeDays is the range the page opens with: the last 30 days.
const defaultRangeDays = 30

// adoptionView is the adoption page's data.
type adoptionView struct {
	From, To  string
	Tenant    string // the platform's pick ("" = every tenant)
	Platform  bool
	Tenants   []string // tenants with monthly actives in the range (platform)
	KPIs      []kpi
	Charts    []chart
	Retention retentionView
	Meters    []meterView
	Grafana   []grafanaLink
	Refused   bool // the API refused the range: nothing else is shown
}

type kpi struct {
	Label, Value, Test string
}

type grafanaLink struct{ Title, Href string }

// seriesAnswer is GET /v1/metrics's answer: a series per metric asked, in
// that order. (adoption.Day writes JSON but does not read it: the days are
// strings here.)
type seriesAnswer struct {
	Metrics []struct {
		Metric string     `json:"metric"`
		Series []dayPoint `json:"series"`
	} `json:"metrics"`
}

type dayPoint struct {
	Day   string   `json:"day"`
	Value *float64 `json:"value"`
}

type groupsAnswer struct {
	Groups []struct {
		Key string `json:"key"`
	} `json:"groups"`
}

type retentionAnswer struct {
	Days    []int `json:"days"`
	Cohorts []struct {
		Day      string     `json:"day"`
		Size     int        `json:"size"`
		Retained []*float64 `json:"retained"`
	} `json:"cohorts"`
}

type meterAnswer struct {
	Series []metering.Point `json:"series"`
}

func (cons *Console) adoptionPage(c *fiber.Ctx) error {
	u := userOf(c)
	today := adoption.DayOf(time.Now())
	d := adoptionView{From: c.Query("from"), To: c.Query("to"), Platform: u.Role == auth.RolePlatform}
	if d.To == "" {
		d.To = today.String()
	}
	if d.From == "" {
		if to, err := adoption.ParseDay(d.To); err == nil {
			d.From = (to - defaultRangeDays + 1).String()
		}
	}
	if d.Platform {
		d.Tenant = strings.TrimSpace(c.Query("tenant"))
	}
	v := cons.viewOf(c, "exec.title")
	l := v.L
	for _, db := range dashboards.All() {
		if cons.GrafanaURL != "" {
			d.Grafana = append(d.Grafana, grafanaLink{Title: db.Title, Href: cons.GrafanaURL + "/d/" + url.PathEscape(db.UID)})
		}
	}

	cl := cons.clientOf(c)
	base := url.Values{"from": {d.From}, "to": {d.To}}
	if d.Tenant != "" {
		base.Set("tenant", d.Tenant)
	}
	// Stickiness (DAU/MAU) and the contacts over the cap (total − cap)
	// follow from the other answers by their definitions
	// (shared/spec/metrics.md): two queries fewer on every page load.
	metrics := []adoption.Metric{adoption.DAU, adoption.WAU, adoption.MAU, adoption.PaidDAU,
		adoption.NewDAU, adoption.CustomerDAU, adoption.CustomerMAU}
	names := make([]string, len(metrics))
	for i, m := range metrics {
		names[i] = string(m)
	}
	series := make([][]dayPoint, len(metrics))
	meters := []metering.Meter{metering.ContactsTotal, metering.ContactCap}
	meterSeries := make([][]metering.Point, len(meters))
	var ret retentionAnswer
	var groups groupsAnswer
	var calls []func() error
	calls = append(calls, func() error {
		// Every series in one call: one read of the stored results.
		q := maps.Clone(base)
		q.Set("metrics", strings.Join(names, ","))
		var a seriesAnswer
		if err := cl.get("/v1/metrics", q, &a); err != nil {
			return err
		}
		for i := range series {
			if i < len(a.Metrics) && a.Metrics[i].Metric == names[i] {
				series[i] = a.Metrics[i].Series
			}
		}
		return nil
	})
	for i, m := range meters {
		calls = append(calls, func() error {
			var a meterAnswer
			q := maps.Clone(base)
			q.Set("from", d.To) // the meters as of the range's last day
			err := cl.get("/v1/meters/"+string(m), q, &a)
			meterSeries[i] = a.Series
			return err
		})
	}
	calls = append(calls, func() error {
		q := url.Values{"cohort_from": {d.From}, "cohort_to": {d.To}}
		if d.Tenant != "" {
			q.Set("tenant", d.Tenant)
		}
		return cl.get("/v1/metrics/retention", q, &ret)
	})
	if d.Platform {
		calls = append(calls, func() error {
			q := url.Values{"from": {d.From}, "to": {d.To}, "metric": {string(adoption.MAU)}, "group_by": {string(adoption.ByTenant)}}
			return cl.get("/v1/metrics/active", q, &groups)
		})
	}
	if err := together(calls...); err != nil {
		if ae, ok := err.(*apiError); ok && ae.Status == fiber.StatusBadRequest {
			formError(v, err)
			d.Refused = true
			v.Data = d
			c.Status(fiber.StatusBadRequest)
			return cons.renderView(c, "exec_adoption", v)
		}
		return cons.fail(c, err)
	}
	for _, g := range groups.Groups {
		d.Tenants = append(d.Tenants, g.Key)
	}

	days := daysOf(series[0])
	stickiness := ratio(values(series[0]), values(series[2]))
	last := func(i int) *float64 {
		if s := series[i]; len(s) > 0 {
			return s[len(s)-1].Value
		}
		return nil
	}
	d.KPIs = []kpi{
		{l.T("exec.mau"), fmtCount(last(2)), "kpi-mau"},
		{l.T("exec.wau"), fmtCount(last(1)), "kpi-wau"},
		{l.T("exec.dau"), fmtCount(last(0)), "kpi-dau"},
		{l.T("exec.paid_dau"), fmtCount(last(3)), "kpi-paid-dau"},
		{l.T("exec.stickiness"), fmtPercent(lastOf(stickiness)), "kpi-stickiness"},
		{l.T("exec.new_dau"), fmtCount(last(4)), "kpi-new-dau"},
	}
	d.Charts = []chart{
		newChart("chart-active", l.T("exec.chart.active"), l.T("exec.chart.active.desc"), days, false,
			chartSeries{Name: l.T("exec.dau"), Class: "s1", Values: values(series[0])},
			chartSeries{Name: l.T("exec.wau"), Class: "s2", Values: values(series[1])},
			chartSeries{Name: l.T("exec.mau"), Class: "s3", Values: values(series[2])}),
		newChart("chart-paid", l.T("exec.chart.paid"), l.T("exec.chart.paid.desc"), days, false,
			chartSeries{Name: l.T("exec.new_dau"), Class: "s2", Bar: true, Values: values(series[4])},
			chartSeries{Name: l.T("exec.paid_dau"), Class: "s1", Values: values(series[3])}),
		newChart("chart-stickiness", l.T("exec.chart.stickiness"), l.T("exec.chart.stickiness.desc"), days, true,
			chartSeries{Name: l.T("exec.stickiness"), Class: "s3", Values: stickiness}),
		newChart("chart-engagement", l.T("exec.chart.engagement"), l.T("exec.chart.engagement.desc"), days, false,
			chartSeries{Name: l.T("exec.customer_dau"), Class: "s1", Values: values(series[5])},
			chartSeries{Name: l.T("exec.customer_mau"), Class: "s3", Values: values(series[6])}),
	}
	d.Retention = retentionOf(ret)
	total, cap := lastMeter(meterSeries[0]), lastMeter(meterSeries[1])
	var over int64
	if cap > 0 {
		over = max(0, total-cap)
	}
	d.Meters = []meterView{{Label: l.T("exec.meter.contacts"), Value: total, Cap: cap, Over: over, Test: "meter-contacts"}}
	v.Data = d
	return cons.renderView(c, "exec_adoption", v)
}

func daysOf(s []dayPoint) []string {
	out := make([]string, len(s))
	for i, p := range s {
		out[i] = p.Day
	}
	return out
}

func values(s []dayPoint) []*float64 {
	out := make([]*float64, len(s))
	for i, p := range s {
		out[i] = p.Value
	}
	return out
}

// ratio is num/den day by day, null where den is 0 or either is null
// (stickiness: DAU/MAU).
func ratio(num, den []*float64) []*float64 {
	out := make([]*float64, len(num))
	for i := range num {
		if i < len(den) && num[i] != nil && den[i] != nil && *den[i] != 0 {
			r := *num[i] / *den[i]
			out[i] = &r
		}
	}
	return out
}

func lastOf(v []*float64) *float64 {
	if len(v) == 0 {
		return nil
	}
	return v[len(v)-1]
}

func fmtCount(v *float64) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(math.Round(*v), 'f', 0, 64)
}

func fmtPercent(v *float64) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(*v*100, 'f', 1, 64) + "%"
}

// meterView is a contact meter against the tenant's cap (0: no cap).
type meterView struct {
	Label            string
	Value, Cap, Over int64
	Test             string
}

// Share is the value as a percentage of the cap.
func (m meterView) Share() string {
	if m.Cap <= 0 {
		return ""
	}
	return strconv.FormatFloat(float64(m.Value)*100/float64(m.Cap), 'f', 1, 64) + "%"
}

// High is where the meter turns amber: 90% of the cap.
func (m meterView) High() int64 { return m.Cap * 9 / 10 }

func lastMeter(s []metering.Point) int64 {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1].Value
}

// retentionView is the retention heatmap: a row per cohort day, a cell per
// day N, each cell's value shown and its shade a CSS class (heat0..heat5).
type retentionView struct {
	Days []int
	Rows []retentionRow
}

type retentionRow struct {
	Day   string
	Size  int
	Cells []heatCell
}

type heatCell struct {
	Text, Class string
}

// maxCohortRows keeps the heatmap readable: the latest cohorts of the
// range (days without new staff are left out).
const maxCohortRows = 62

func retentionOf(a retentionAnswer) retentionView {
	rv := retentionView{Days: a.Days}
	cohorts := a.Cohorts
	if len(cohorts) > maxCohortRows {
		cohorts = cohorts[len(cohorts)-maxCohortRows:]
	}
	for i := len(cohorts) - 1; i >= 0; i-- {
		co := cohorts[i]
		if co.Size == 0 {
			continue // a day without new staff has nothing to retain
		}
		row := retentionRow{Day: co.Day, Size: co.Size}
		for _, r := range co.Retained {
			cell := heatCell{Text: "—", Class: "heatna"}
			if r != nil {
				cell.Text = fmtPercent(r)
				cell.Class = "heat" + strconv.Itoa(min(5, int(math.Ceil(*r*5))))
			}
			row.Cells = append(row.Cells, cell)
		}
		rv.Rows = append(rv.Rows, row)
	}
	return rv
}

// chart is a server-drawn SVG chart: lines and bars over days, with its
// data as a table for screen readers and for copying.
type chart struct {
	ID, Title, Desc string
	Days            []string
	Percent         bool
	Series          []chartSeries
	Width, Height   int
	YTicks          []tick
	XTicks          []tick
	Empty           bool
}

type chartSeries struct {
	Name, Class string
	Bar         bool
	Values      []*float64
	Points      string // the polyline's points (lines)
	Bars        []bar
}

type bar struct{ X, Y, W, H string }

type tick struct {
	Pos, Label string
}

// Geometry of every chart (the SVG scales to its box).
const (
	chartW, chartH         = 560, 240
	padL, padR, padT, padB = 56, 12, 12, 30
	plotW, plotH           = chartW - padL - padR, chartH - padT - padB
	yTickCount             = 4
	maxXTicks              = 6
)

func newChart(id, title, desc string, days []string, percent bool, ss ...chartSeries) chart {
	ch := chart{ID: id, Title: title, Desc: desc, Days: days, Percent: percent, Width: chartW, Height: chartH}
	top := 0.0
	for _, s := range ss {
		for _, v := range s.Values {
			if v != nil && *v > top {
				top = *v
			}
		}
	}
	ch.Empty = top == 0
	top = niceCeil(top, percent)
	n := len(days)
	x := func(i int) float64 {
		if n <= 1 {
			return padL + plotW/2
		}
		return padL + float64(i)*plotW/float64(n-1)
	}
	y := func(v float64) float64 { return padT + plotH - v/top*plotH }
	slot := float64(plotW) / float64(max(n, 1))
	for _, s := range ss {
		var pts []string
		for i, v := range s.Values {
			if v == nil {
				continue
			}
			if s.Bar {
				w := math.Max(1, slot*0.6)
				h := *v / top * plotH
				s.Bars = append(s.Bars, bar{X: f1(x(i) - w/2), Y: f1(padT + plotH - h), W: f1(w), H: f1(h)})
				continue
			}
			pts = append(pts, f1(x(i))+","+f1(y(*v)))
		}
		s.Points = strings.Join(pts, " ")
		ch.Series = append(ch.Series, s)
	}
	for k := 0; k <= yTickCount; k++ {
		v := top * float64(k) / yTickCount
		label := strconv.FormatFloat(v, 'f', -1, 64)
		if percent {
			label = strconv.FormatFloat(v*100, 'f', 0, 64) + "%"
		}
		ch.YTicks = append(ch.YTicks, tick{Pos: f1(y(v)), Label: label})
	}
	if n > 0 {
		step := max(1, int(math.Ceil(float64(n)/maxXTicks)))
		for i := 0; i < n; i += step {
			label := days[i]
			if len(label) == len(adoption.DayLayout) {
				label = label[5:] // MM-DD
			}
			ch.XTicks = append(ch.XTicks, tick{Pos: f1(x(i)), Label: label})
		}
	}
	return ch
}

// niceCeil is the axis top: 1, 2 or 5 times a power of ten at or above v
// (a share: at most 100%).
func niceCeil(v float64, percent bool) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			v = m * p
			break
		}
	}
	if percent && v > 1 {
		return 1
	}
	return v
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// Cell is series s's value on day i, as the data table shows it.
func (ch chart) Cell(s chartSeries, i int) string {
	if i >= len(s.Values) {
		return "—"
	}
	if ch.Percent {
		return fmtPercent(s.Values[i])
	}
	return fmtCount(s.Values[i])
}

// Right and Bottom are the plot's edges, for the axes.
func (ch chart) Right() int  { return chartW - padR }
func (ch chart) Bottom() int { return padT + plotH }
func (ch chart) Left() int   { return padL }

var execMessages = map[string]msg{
	"exec.nav":                   {"经营看板", "Adoption"},
	"exec.title":                 {"经营看板", "Adoption and engagement"},
	"exec.range":                 {"日期范围", "Date range"},
	"exec.from":                  {"开始日期", "From"},
	"exec.to":                    {"结束日期", "To"},
	"exec.range.hint":            {"最长 400 天；日期按报表时区计算。", "At most 400 days; days are in the reporting time zone."},
	"exec.apply":                 {"查看", "Show"},
	"exec.tenant":                {"租户", "Tenant"},
	"exec.tenant.all":            {"全部租户（留空）", "Every tenant (leave empty)"},
	"exec.tenant.known":          {"有活跃的租户：", "Tenants with actives:"},
	"exec.latest":                {"截至 %s", "As of %s"},
	"exec.mau":                   {"月活（MAU）", "MAU"},
	"exec.wau":                   {"周活（WAU）", "WAU"},
	"exec.dau":                   {"日活（DAU）", "DAU"},
	"exec.paid_dau":              {"付费日活", "Paid DAU"},
	"exec.stickiness":            {"粘性（DAU/MAU）", "Stickiness (DAU/MAU)"},
	"exec.new_dau":               {"新增日活", "New DAU"},
	"exec.customer_dau":          {"客户日活", "Customer DAU"},
	"exec.customer_mau":          {"客户月活", "Customer MAU"},
	"exec.adoption":              {"员工使用（采用度）", "Staff adoption"},
	"exec.engagement":            {"客户互动", "Customer engagement"},
	"exec.chart.active":          {"活跃员工", "Active staff"},
	"exec.chart.active.desc":     {"每天的日活、周活（近 7 天）与月活（近 30 天）员工数。", "Daily, weekly (7 days ending that day) and monthly (30 days) active staff, per day."},
	"exec.chart.paid":            {"付费日活与新增日活", "Paid and new DAU"},
	"exec.chart.paid.desc":       {"柱：首次活跃的员工数；线：所在租户当天付费的日活员工数。", "Bars: staff active for the first time; line: active staff whose tenant was paid that day."},
	"exec.chart.stickiness":      {"粘性", "Stickiness"},
	"exec.chart.stickiness.desc": {"每天的日活 ÷ 月活。", "DAU divided by MAU, per day."},
	"exec.chart.engagement":      {"客户活跃", "Active customers"},
	"exec.chart.engagement.desc": {"当天或近 30 天内发过消息的客户数。", "Customers who sent a message that day, or in the 30 days ending that day."},
	"exec.chart.empty":           {"这段时间没有数据。", "No data in this range."},
	"exec.chart.table":           {"数据表", "Data table"},
	"exec.day":                   {"日期", "Day"},
	"exec.retention":             {"留存（员工，按首次活跃日分组）", "Retention (staff, by first active day)"},
	"exec.retention.desc":        {"每行是一组首次活跃的员工（没有新员工的日子不列出），格子是第 N 天仍活跃的比例；颜色越深比例越高，“—”表示尚未到达该天。", "Each row is the staff first active on that day (days without new staff are left out); a cell is the share active N days later (darker is higher; — is not reached yet)."},
	"exec.retention.cohort":      {"首次活跃日", "Cohort"},
	"exec.retention.size":        {"人数", "Size"},
	"exec.retention.day":         {"第 %d 天", "Day %d"},
	"exec.retention.none":        {"这段时间没有新员工。", "No new staff in this range."},
	"exec.meters":                {"客户数与上限", "Contacts against the cap"},
	"exec.meter.contacts":        {"客户数", "Contacts"},
	"exec.meter.cap":             {"上限 %d，已用 %s", "Cap %d, %s used"},
	"exec.meter.nocap":           {"未设上限", "No cap set"},
	"exec.meter.over":            {"超出上限 %d 个客户", "%d contacts over the cap"},
	"exec.grafana":               {"Grafana 仪表盘", "Grafana dashboards"},
	"exec.grafana.none":          {"未配置 Grafana：用 siyu serve --grafana-url 设置后，这里会链接到仪表盘。", "Grafana is not configured: start siyu serve with --grafana-url to link the dashboards here."},
}
