package dashboards

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	siyusql "github.com/siyu-dev/siyu/sql"
	"github.com/siyu-dev/siyu/store"
)

// GrafanaTables are the rollups the dashboards read, and all that Grafana's
// ClickHouse user may read: no raw events, keys, WeCom secrets or profiles.
// A panel reading any other table fails TestPanelsReadOnlyGrafanaTables.
var GrafanaTables = []string{
	"staff_active_days", "customer_active_days", "subscription_changes",
	"acquisition_state", "relation_events", "rep_chat_days", "followup_facts",
	"followup_logs", "assignee_events",
}

// RetiredGrafanaTables are rollups the dashboards read before and no
// longer exist: grant drops their Distributed tables on 18.16.
var RetiredGrafanaTables = []string{"dash_chat_messages"}

// Access says where Grafana's read-only access is set up.
type Access struct {
	Database        string // the Siyu database
	GrafanaDatabase string // without SQL access control: the database of Distributed tables
	Password        string // with SQL access control: the grafana user's password
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate reports the first problem with a for a server with (rbac) or
// without SQL access control.
func (a Access) Validate(rbac bool) error {
	switch {
	case !identifier.MatchString(a.Database):
		return fmt.Errorf("database %q: want letters, digits and _", a.Database)
	case rbac && a.Password == "":
		return errors.New("the grafana user needs a password ($SIYU_GRAFANA_CLICKHOUSE_PASSWORD)")
	case !rbac && !identifier.MatchString(a.GrafanaDatabase):
		return fmt.Errorf("grafana database %q: want letters, digits and _", a.GrafanaDatabase)
	case !rbac && a.GrafanaDatabase == a.Database:
		return errors.New("the grafana database must not be the Siyu database")
	}
	return nil
}

// GrantStatements are the statements that give Grafana its access:
// CREATE USER and GRANT SELECT on the rollups with SQL access control
// (rbac), else the Distributed tables of sql/access/grafana_distributed.sql.
func GrantStatements(a Access, rbac bool) ([]string, error) {
	if err := a.Validate(rbac); err != nil {
		return nil, err
	}
	if rbac {
		sum := sha256.Sum256([]byte(a.Password))
		return siyusql.Access("grafana_grant", map[string]any{"User": store.GrafanaUser, "DB": a.Database,
			"PasswordSHA256": hex.EncodeToString(sum[:]), "Tables": GrafanaTables})
	}
	return siyusql.Access("grafana_distributed", map[string]any{"DB": a.Database, "GrafanaDB": a.GrafanaDatabase,
		"Cluster": store.GrafanaCluster, "Tables": GrafanaTables, "Retired": RetiredGrafanaTables})
}

var qHasRBAC = siyusql.Query("server_has_rbac")

// Grant sets up Grafana's access on the server of conn (run after the
// migrations, and again after one changes a rollup). It reports whether the
// server has SQL access control and the statements it ran.
func Grant(ctx context.Context, conn driver.Conn, a Access) (bool, []string, error) {
	var n uint64
	if err := conn.QueryRow(ctx, qHasRBAC).Scan(&n); err != nil {
		return false, nil, fmt.Errorf("detect access control: %w", err)
	}
	rbac := n > 0
	stmts, err := GrantStatements(a, rbac)
	if err != nil {
		return rbac, nil, err
	}
	for _, s := range stmts {
		if err := conn.Exec(ctx, s); err != nil {
			return rbac, nil, fmt.Errorf("grant grafana access: %w", err)
		}
	}
	return rbac, stmts, nil
}
