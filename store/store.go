// Package store is Siyu's edge to ClickHouse: it opens connections, applies
// the migrations in sql/, and can start a private ClickHouse server on
// loopback for `siyu run` and the tests. Queries themselves live in sql/ and
// in the domain packages that own them.
package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Open connects to the ClickHouse named by dsn (clickhouse://host:port/db),
// creating the database when it is missing, and checks that it answers.
func Open(ctx context.Context, dsn string) (driver.Conn, error) {
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse ClickHouse DSN %q: %w", dsn, err)
	}
	if err := createDatabase(ctx, *opts); err != nil {
		return nil, err
	}
	if opts.Compression == nil && !onLoopback(opts.Addr) {
		// Across a network LZ4 pays for itself; on loopback it only burns CPU
		// on both ends. A DSN's ?compress= setting always wins.
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	}
	opts.DialTimeout = 5 * time.Second
	opts.ReadTimeout = 60 * time.Second
	opts.MaxOpenConns = 32
	opts.MaxIdleConns = 16
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open ClickHouse: %w", err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ping ClickHouse at %s: %w", strings.Join(opts.Addr, ","), err)
	}
	return conn, nil
}

func createDatabase(ctx context.Context, opts clickhouse.Options) error {
	db := opts.Auth.Database
	if db == "" || db == "default" {
		return nil
	}
	if !validIdent(db) {
		return fmt.Errorf("database name %q: use letters, digits and _", db)
	}
	opts.Auth.Database = "default"
	opts.MaxOpenConns = 1
	conn, err := clickhouse.Open(&opts)
	if err != nil {
		return fmt.Errorf("open ClickHouse: %w", err)
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	return nil
}

// DropDatabase removes a database; tests use it to clean up after themselves.
func DropDatabase(ctx context.Context, conn driver.Conn, db string) error {
	if !validIdent(db) {
		return fmt.Errorf("database name %q: use letters, digits and _", db)
	}
	return conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db)
}

func onLoopback(addrs []string) bool {
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return false
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return false
		}
	}
	return len(addrs) > 0
}

func validIdent(s string) bool {
	for i, c := range s {
		ok := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
		if !ok {
			return false
		}
	}
	return s != ""
}

// DSN builds a DSN for a server on addr and a database.
func DSN(addr, database string) string {
	return "clickhouse://" + addr + "/" + database
}

// IsRetryable reports whether err is worth retrying: a network failure or a
// ClickHouse server exception that is not about the statement itself.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		switch ex.Code {
		case 62, 47, 60, 81, 36, 53, 6, 27, 117, // syntax, unknown column/table/db, bad arguments, type mismatch, parse errors
			16, 43, 44, // no such column in the table (a schema mismatch), illegal argument type or column
			69, 70, 72, // argument out of bound, cannot convert type, cannot parse number: the row's values
			153, 395: // division by zero, throwIf: a view refuses the row
			return false
		}
		return true
	}
	return !errors.Is(err, context.Canceled)
}

// Insert writes rows through a prepared batch. The statement must name its
// columns ("INSERT INTO t (a, b)"): ClickHouse 18.16 needs that, and inline
// VALUES with bound arguments do not work against it.
func Insert(ctx context.Context, conn driver.Conn, stmt string, rows ...[]any) error {
	batch, err := conn.PrepareBatch(ctx, stmt)
	if err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	for _, r := range rows {
		if err := batch.Append(r...); err != nil {
			return fmt.Errorf("append row: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("send insert: %w", err)
	}
	return nil
}
