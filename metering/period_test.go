package metering_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/adoption"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/metering"
)

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in     string
		want   string // "" = refused
		reason string
	}{
		{in: "2026-09", want: "2026-09"},
		{in: "2000-01", want: "2000-01"},
		{in: "2100-12", want: "2100-12"},
		{in: "9999-12", reason: "2000–2100"},
		{in: "0000-01", reason: "2000–2100"},
		{in: "1969-12", reason: "2000–2100"},
		{in: "1999-12", reason: "2000–2100"},
		{in: "2101-01", reason: "2000–2100"},
		{in: "2262-05", reason: "2000–2100"},
		{in: "2026-13", reason: "YYYY-MM"},
		{in: "2026-9", reason: "YYYY-MM"},
		{in: "", reason: "YYYY-MM"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := metering.ParsePeriod(tt.in)
			if tt.want == "" {
				require.ErrorContains(t, err, tt.reason)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, p.String())
		})
	}
}

// TestUsageRefusesOutOfRangePeriods: a period that did not come from
// ParsePeriod is refused too, before anything is read or recorded.
func TestUsageRefusesOutOfRangePeriods(t *testing.T) {
	if testing.Short() {
		t.Skip("uses ClickHouse")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, _ := testenv.Database(t)
	svc := metering.NewService(conn, func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) })
	for _, p := range []metering.Period{
		{From: adoption.DateDay(time.Date(9999, 12, 1, 0, 0, 0, 0, time.UTC)), To: adoption.DateDay(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC))},
		{From: adoption.DateDay(time.Date(1969, 12, 1, 0, 0, 0, 0, time.UTC)), To: adoption.DateDay(time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC))},
	} {
		_, err := svc.Usage(ctx, "", p)
		require.ErrorContains(t, err, "out of range", p.String())
	}
	var n uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM billing_exports").Scan(&n))
	require.Zero(t, n, "nothing recorded")
}
