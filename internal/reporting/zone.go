// Package reporting holds the reporting time zone: the zone whose calendar
// days every daily figure counts (adoption series, meters, follow-up days,
// contact days, dashboards) and whose name the SQL of the rollups passes to
// ClickHouse (sql/migrations/0005_activity.sql and later).
//
// It is the one definition of that zone: code that needs a reporting day
// takes it from here, never from its own FixedZone or LoadLocation.
package reporting

import (
	"fmt"
	"time"
	_ "time/tzdata" // Zone must load on hosts without zoneinfo
)

// ZoneName is the reporting zone as ClickHouse and Grafana name it. It is
// fixed at install by the migrations, which must name the same zone; see
// docs/decisions.md, "Metrics".
const ZoneName = "Asia/Shanghai"

// Zone is ZoneName as a location. It is the tz database's zone, not a fixed
// UTC+8, so that a Go day boundary is ClickHouse's for any instant (China
// kept daylight saving from 1986 to 1991); times print "CST" and bind to
// ClickHouse as 'Asia/Shanghai'. The embedded tzdata makes the load
// infallible.
var Zone = mustLoad(ZoneName)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("reporting: load time zone %s: %v", name, err))
	}
	return loc
}
