package api

import (
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/auth"
)

// metricsTenant is the tenant a metrics request reads: the key's own, or for
// the platform the optional ?tenant= ("" = every tenant).
func metricsTenant(c *fiber.Ctx) (string, error) {
	p := principal(c)
	t := strings.Clone(c.Query("tenant"))
	if t != "" {
		if err := checkTenant(t); err != nil {
			return "", err
		}
	}
	if p.Role == auth.RolePlatform {
		return t, nil
	}
	if t != "" && t != p.Tenant {
		return "", forbidden("this key belongs to tenant " + strconv.Quote(p.Tenant) + "; it cannot read another tenant")
	}
	return p.Tenant, nil
}

// platformOnly refuses the named parameters to keys other than platform ones.
func platformOnly(c *fiber.Ctx, params ...string) error {
	if principal(c).Role == auth.RolePlatform {
		return nil
	}
	for _, name := range params {
		if c.Query(name) != "" {
			return forbidden("only the platform operator may use " + name)
		}
	}
	return nil
}

func (s *metricGroup) getActive(c *fiber.Ctx) error {
	if err := platformOnly(c, "plan", "group_by"); err != nil {
		return err
	}
	q, err := parseActive(c)
	if err != nil {
		return err
	}
	if q.Tenant, err = metricsTenant(c); err != nil {
		return err
	}
	res, err := s.Adoption.Active(ctxOf(c), q)
	if err != nil {
		return err
	}
	body := fiber.Map{"metric": res.Metric, "from": res.From, "to": res.To}
	if q.GroupBy == "" {
		body["series"] = res.Series
	} else {
		body["group_by"], body["groups"] = q.GroupBy, res.Groups
	}
	return c.JSON(body)
}

func parseActive(c *fiber.Ctx) (adoption.Query, error) {
	q := adoption.Query{
		Metric:  adoption.Metric(strings.Clone(c.Query("metric"))),
		Plan:    strings.Clone(c.Query("plan")),
		GroupBy: adoption.GroupBy(strings.Clone(c.Query("group_by"))),
	}
	names := metricNames()
	if !slices.Contains(names, string(q.Metric)) {
		return q, badRequest("metric", "metric must be one of "+strings.Join(names, ", "))
	}
	if q.GroupBy != "" && q.GroupBy != adoption.ByTenant && q.GroupBy != adoption.ByPlan {
		return q, badRequest("group_by", "group_by must be tenant or plan")
	}
	var err error
	if q.From, q.To, err = parseRange(c, "from", "to"); err != nil {
		return q, err
	}
	return q, nil
}

// getSeries answers several daily series of one range at once (a page's
// charts): GET /v1/metrics?metrics=dau,wau&from=&to=.
func (s *metricGroup) getSeries(c *fiber.Ctx) error {
	if err := platformOnly(c, "plan"); err != nil {
		return err
	}
	q, err := parseSeries(c)
	if err != nil {
		return err
	}
	if q.Tenant, err = metricsTenant(c); err != nil {
		return err
	}
	res, err := s.Adoption.Series(ctxOf(c), q)
	if err != nil {
		return err
	}
	metrics := make([]fiber.Map, len(res))
	for i, r := range res {
		metrics[i] = fiber.Map{"metric": r.Metric, "series": r.Series}
	}
	return c.JSON(fiber.Map{"from": q.From, "to": q.To, "metrics": metrics})
}

func parseSeries(c *fiber.Ctx) (adoption.SeriesQuery, error) {
	q := adoption.SeriesQuery{Plan: strings.Clone(c.Query("plan"))}
	if c.Query("group_by") != "" {
		return q, badRequest("group_by", "GET /v1/metrics answers without a breakdown: ask GET /v1/metrics/active for one series with group_by")
	}
	names := metricNames()
	hint := "metrics is a comma-separated list of distinct metrics, each one of " + strings.Join(names, ", ")
	raw := c.Query("metrics")
	if raw == "" {
		return q, badRequest("metrics", hint)
	}
	for _, part := range strings.Split(raw, ",") {
		m := adoption.Metric(strings.Clone(strings.TrimSpace(part)))
		if !slices.Contains(names, string(m)) {
			return q, badRequest("metrics", hint+"; "+strconv.Quote(string(m))+" is not")
		}
		if slices.Contains(q.Metrics, m) {
			return q, badRequest("metrics", hint+"; "+string(m)+" is asked twice")
		}
		q.Metrics = append(q.Metrics, m)
	}
	var err error
	if q.From, q.To, err = parseRange(c, "from", "to"); err != nil {
		return q, err
	}
	return q, nil
}

func metricNames() []string {
	names := make([]string, 0, len(adoption.Metrics()))
	for _, m := range adoption.Metrics() {
		names = append(names, string(m))
	}
	return names
}

func (s *metricGroup) getRetention(c *fiber.Ctx) error {
	q := adoption.RetentionQuery{Days: adoption.RetentionDays}
	var err error
	if q.From, q.To, err = parseRange(c, "cohort_from", "cohort_to"); err != nil {
		return err
	}
	if raw := c.Query("days"); raw != "" {
		if q.Days, err = parseRetentionDays(raw); err != nil {
			return err
		}
	}
	switch subject := c.Query("subject", "staff"); subject {
	case "staff":
	case "customer":
		q.Customers = true
	default:
		return badRequest("subject", "subject must be staff or customer")
	}
	if q.Tenant, err = metricsTenant(c); err != nil {
		return err
	}
	cohorts, err := s.Adoption.Retention(ctxOf(c), q)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"cohort_from": q.From, "cohort_to": q.To, "days": q.Days, "cohorts": cohorts})
}

// parseRange reads two required YYYY-MM-DD parameters: from ≤ to, at most
// adoption.MaxDays days.
func parseRange(c *fiber.Ctx, fromName, toName string) (adoption.Day, adoption.Day, error) {
	from, err := adoption.ParseDay(c.Query(fromName))
	if err != nil {
		return 0, 0, badRequest(fromName, fromName+" must be a day, YYYY-MM-DD")
	}
	to, err := adoption.ParseDay(c.Query(toName))
	if err != nil {
		return 0, 0, badRequest(toName, toName+" must be a day, YYYY-MM-DD")
	}
	if err := checkInputTime(fromName, from.Date()); err != nil {
		return 0, 0, err
	}
	if err := checkInputTime(toName, to.Date()); err != nil {
		return 0, 0, err
	}
	if from > to {
		return 0, 0, badRequest(fromName, fromName+" must not be after "+toName)
	}
	if int(to-from) >= adoption.MaxDays {
		return 0, 0, badRequest(toName, "a range spans at most "+strconv.Itoa(adoption.MaxDays)+" days")
	}
	return from, to, nil
}

func parseRetentionDays(raw string) ([]int, error) {
	allowed := make([]string, len(adoption.RetentionDays))
	for i, n := range adoption.RetentionDays {
		allowed[i] = strconv.Itoa(n)
	}
	var out []int
	for _, part := range strings.Split(raw, ",") {
		part = strings.TrimSpace(part)
		if !slices.Contains(allowed, part) {
			return nil, badRequest("days", "days is a comma-separated list of "+strings.Join(allowed, ", "))
		}
		n, _ := strconv.Atoi(part)
		out = append(out, n)
	}
	return out, nil
}
