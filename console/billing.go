package console

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/internal/reporting"
	"github.com/siyu-dev/siyu/metering"
)

// billingPages are billing's pages: a period's usage lines with their
// adjustments (GET /v1/billing/usage) and its CSV; the platform sees every
// tenant and may pick one.
func (cons *Console) billingPages() []page {
	return []page{{
		path: "/app/billing", nav: "billing.nav",
		roles: []auth.Role{auth.RoleBilling, auth.RolePlatform},
		get:   cons.billingPage,
	}}
}

// billingView is the billing page's data.
type billingView struct {
	Period   string
	Periods  []string // the last months, newest first, for quick picks
	Tenant   string
	Platform bool
	Tenants  []string
	Closed   bool
	Lines    []usageLine
	CSV      string // the CSV's address (the API's own, with the session cookie)
	CSVName  string
	Refused  bool
}

type usageLine struct {
	metering.Line
	Adjustment bool
}

// recentPeriods is how many months the picker offers as links.
const recentPeriods = 6

func (cons *Console) billingPage(c *fiber.Ctx) error {
	u := userOf(c)
	now := time.Now().In(reporting.Zone)
	d := billingView{Period: strings.TrimSpace(c.Query("period")), Platform: u.Role == auth.RolePlatform}
	if d.Period == "" {
		d.Period = now.Format("2006-01")
	}
	for i := range recentPeriods {
		d.Periods = append(d.Periods, time.Date(now.Year(), now.Month()-time.Month(i), 1, 0, 0, 0, 0, reporting.Zone).Format("2006-01"))
	}
	if d.Platform {
		d.Tenant = strings.TrimSpace(c.Query("tenant"))
	}
	v := cons.viewOf(c, "billing.title")
	q := url.Values{"period": {d.Period}}
	var usage metering.Usage
	if err := cons.clientOf(c).get("/v1/billing/usage", q, &usage); err != nil {
		if ae, ok := err.(*apiError); ok && ae.Status == fiber.StatusBadRequest {
			formError(v, err)
			d.Refused = true
			v.Data = d
			c.Status(fiber.StatusBadRequest)
			return cons.renderView(c, "billing_usage", v)
		}
		return cons.fail(c, err)
	}
	d.Closed = usage.Closed
	for _, l := range usage.Lines {
		if !slices.Contains(d.Tenants, l.Tenant) {
			d.Tenants = append(d.Tenants, l.Tenant)
		}
		if d.Tenant != "" && l.Tenant != d.Tenant {
			continue
		}
		d.Lines = append(d.Lines, usageLine{Line: l, Adjustment: strings.HasSuffix(l.Meter, "_adjustment")})
	}
	csv := url.Values{"period": {d.Period}, "format": {"csv"}}
	d.CSVName = "siyu-usage-" + d.Period
	if d.Tenant != "" {
		csv.Set("tenant", d.Tenant)
		d.CSVName += "-" + d.Tenant
	}
	d.CSV, d.CSVName = "/v1/billing/usage?"+csv.Encode(), d.CSVName+".csv"
	v.Data = d
	return cons.renderView(c, "billing_usage", v)
}

// MeterKey is the phrase key naming a usage line's meter.
func (l usageLine) MeterKey() string {
	return "billing.meter." + strings.TrimSuffix(l.Meter, "_adjustment")
}

var billingMessages = map[string]msg{
	"billing.nav":                     {"账单", "Billing"},
	"billing.title":                   {"账单用量", "Billing usage"},
	"billing.period":                  {"账期（月）", "Period (month)"},
	"billing.period.hint":             {"格式 YYYY-MM；按报表时区的自然月计算。", "YYYY-MM: a calendar month in the reporting time zone."},
	"billing.show":                    {"查看", "Show"},
	"billing.recent":                  {"最近账期：", "Recent periods:"},
	"billing.tenant":                  {"租户", "Tenant"},
	"billing.tenant.all":              {"全部租户", "Every tenant"},
	"billing.closed":                  {"已结账：数字已记录，之后的变动以调整行列出。", "Closed: the figures are recorded; later changes appear as adjustment lines."},
	"billing.open":                    {"未结账：数字为截至目前的用量，月末后记录。", "Open: the figures so far; they are recorded once the month ends."},
	"billing.csv":                     {"下载 CSV", "Download CSV"},
	"billing.lines":                   {"用量明细", "Usage lines"},
	"billing.col.tenant":              {"租户", "Tenant"},
	"billing.col.meter":               {"计量项", "Meter"},
	"billing.col.value":               {"数量", "Value"},
	"billing.col.key":                 {"幂等键", "Key"},
	"billing.adjustment":              {"调整", "Adjustment"},
	"billing.none":                    {"这个账期没有用量。", "No usage in this period."},
	"billing.meter.peak_contacts":     {"客户数峰值", "Peak contacts"},
	"billing.meter.peak_over_cap":     {"超出上限峰值", "Peak contacts over the cap"},
	"billing.meter.link_acquisitions": {"获客链接新增", "Link acquisitions"},
}
