package store

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	siyusql "github.com/siyu-dev/siyu/sql"
)

// MigrationStatus is one migration and whether this database has it.
type MigrationStatus struct {
	Version   int
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Migrate applies every pending migration in order and returns how many it
// applied. Statements are idempotent (IF NOT EXISTS), so a migration cut
// short by a crash is simply applied again.
func Migrate(ctx context.Context, conn driver.Conn, log *slog.Logger) (int, error) {
	return MigrateTo(ctx, conn, log, math.MaxInt)
}

// MigrateTo applies the pending migrations up to and including version.
func MigrateTo(ctx context.Context, conn driver.Conn, log *slog.Logger, version int) (int, error) {
	status, err := Status(ctx, conn)
	if err != nil {
		return 0, err
	}
	all, err := siyusql.Migrations()
	if err != nil {
		return 0, err
	}
	applied := 0
	for i, m := range all {
		if status[i].Applied || m.Version > version {
			continue
		}
		if err := apply(ctx, conn, m); err != nil {
			return applied, err
		}
		log.Info("migration applied", "version", m.Version, "name", m.Name)
		applied++
	}
	return applied, nil
}

// Status lists every migration with whether it is applied. It creates the
// ledger (migration 0) when missing.
func Status(ctx context.Context, conn driver.Conn) ([]MigrationStatus, error) {
	all, err := siyusql.Migrations()
	if err != nil {
		return nil, err
	}
	if len(all) == 0 || all[0].Version != 0 {
		return nil, fmt.Errorf("migrations: 0000 (the ledger) is missing")
	}
	for _, stmt := range all[0].Statements {
		if err := conn.Exec(ctx, stmt); err != nil {
			return nil, fmt.Errorf("create migration ledger: %w", err)
		}
	}
	done, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	out := make([]MigrationStatus, len(all))
	for i, m := range all {
		at, ok := done[m.Version]
		out[i] = MigrationStatus{Version: m.Version, Name: m.Name, Applied: ok || m.Version == 0, AppliedAt: at}
	}
	return out, nil
}

// Pending returns how many migrations are not applied yet.
func Pending(ctx context.Context, conn driver.Conn) (int, error) {
	status, err := Status(ctx, conn)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range status {
		if !s.Applied {
			n++
		}
	}
	return n, nil
}

func appliedVersions(ctx context.Context, conn driver.Conn) (map[int]time.Time, error) {
	rows, err := conn.Query(ctx, siyusql.Query("migrations_applied"))
	if err != nil {
		return nil, fmt.Errorf("read migration ledger: %w", err)
	}
	defer rows.Close()
	done := map[int]time.Time{}
	for rows.Next() {
		var v uint32
		var name string
		var at time.Time
		if err := rows.Scan(&v, &name, &at); err != nil {
			return nil, fmt.Errorf("read migration ledger: %w", err)
		}
		done[int(v)] = at
	}
	return done, rows.Err()
}

func apply(ctx context.Context, conn driver.Conn, m siyusql.Migration) error {
	for _, stmt := range m.Statements {
		if err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	err := Insert(ctx, conn, "INSERT INTO schema_migrations (version, name, applied_at)",
		[]any{uint32(m.Version), m.Name, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return fmt.Errorf("record migration %04d_%s: %w", m.Version, m.Name, err)
	}
	return nil
}
