package reporting_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/reporting"
	"github.com/siyu-dev/siyu/sql"
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

// TestSQLNamesTheZone: every time zone the migrations and queries pass to
// ClickHouse is ZoneName, so Go and ClickHouse count the same days.
func TestSQLNamesTheZone(t *testing.T) {
	var texts []string
	migrations, err := sql.Migrations()
	require.NoError(t, err)
	for _, m := range migrations {
		texts = append(texts, m.Statements...)
	}
	queries, err := sql.Catalogue()
	require.NoError(t, err)
	for _, q := range queries {
		texts = append(texts, q.SQL)
	}
	zoneLiteral := regexp.MustCompile(`'[A-Z][A-Za-z]+/[A-Za-z_]+'`)
	seen := 0
	for _, s := range texts {
		for _, z := range zoneLiteral.FindAllString(s, -1) {
			require.Equal(t, "'"+reporting.ZoneName+"'", z)
			seen++
		}
	}
	require.Positive(t, seen, "the rollups name their zone")
}
