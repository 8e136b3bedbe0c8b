package api

import (
	"bytes"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/metering"
)

func (s *meterGroup) getMeter(c *fiber.Ctx) error {
	m := metering.Meter(strings.Clone(c.Params("meter")))
	names := make([]string, 0, len(metering.Meters()))
	for _, x := range metering.Meters() {
		names = append(names, string(x))
	}
	if !slices.Contains(names, string(m)) {
		return badRequest("meter", "meter must be one of "+strings.Join(names, ", "))
	}
	w := metering.Window(strings.Clone(c.Query("window", "day")))
	if w != metering.Day && w != metering.Month {
		return badRequest("window", "window must be day or month")
	}
	from, to, err := parseRange(c, "from", "to")
	if err != nil {
		return err
	}
	tenant, err := metricsTenant(c)
	if err != nil {
		return err
	}
	series, err := s.Metering.Series(ctxOf(c), m, w, tenant, from, to)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"meter": m, "series": series})
}

func (s *meterGroup) getUsage(c *fiber.Ctx) error {
	p, err := metering.ParsePeriod(c.Query("period"))
	if err != nil {
		return badRequest("period", err.Error())
	}
	format := strings.Clone(c.Query("format", "json"))
	if format != "json" && format != "csv" {
		return badRequest("format", "format must be json or csv")
	}
	tenant, err := metricsTenant(c)
	if err != nil {
		return err
	}
	u, err := s.Metering.Usage(ctxOf(c), tenant, p)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if format == "csv" {
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		err = metering.WriteCSV(&buf, u)
	} else {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		err = metering.WriteJSON(&buf, u)
	}
	if err != nil {
		return err
	}
	return c.Send(buf.Bytes())
}
