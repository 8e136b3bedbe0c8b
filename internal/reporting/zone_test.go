package reporting_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/reporting"
)

// TestZone: the zone is UTC+8 named as ClickHouse names it, prints the
// abbreviation the fixed zones it replaced printed, and keeps China's
// daylight saving of 1986–1991 as ClickHouse does.
func TestZone(t *testing.T) {
	require.Equal(t, "Asia/Shanghai", reporting.Zone.String())
	at := time.Date(2026, time.September, 1, 0, 0, 0, 0, reporting.Zone)
	name, off := at.Zone()
	require.Equal(t, "CST", name)
	require.Equal(t, 8*3600, off)
	require.Equal(t, "2026-08-31T16:00:00Z", at.UTC().Format(time.RFC3339))
	_, summer := time.Date(1988, time.July, 1, 12, 0, 0, 0, reporting.Zone).Zone()
	require.Equal(t, 9*3600, summer)
}
