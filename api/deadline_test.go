package api

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/testenv"
)

// slowQuery sleeps about 30 s in ClickHouse (60 blocks of one row, 0.5 s each).
const slowQuery = "SELECT sleepEachRow(0.5) FROM numbers(60) SETTINGS max_block_size = 1"

// slowServer serves GET /slow, a handler running slowQuery with the
// request's context (ctxOf) under the API's own request middleware and
// error handler, on a real TCP listener. Each query's id is sent on ids
// once it starts, its outcome on outcomes.
func slowServer(t *testing.T, conn driver.Conn, reads time.Duration) (addr string, ids chan string, outcomes chan error) {
	t.Helper()
	s := &Server{log: testenv.Logger()}
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: s.errorHandler,
		ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second})
	app.Use(requestContext(reads, DefaultWriteTimeout))
	ids, outcomes = make(chan string, 4), make(chan error, 4)
	app.Get("/slow", func(c *fiber.Ctx) error {
		id := slowQueryID()
		ids <- id
		err := conn.Exec(clickhouse.Context(ctxOf(c), clickhouse.WithQueryID(id)), slowQuery)
		outcomes <- err
		if err != nil {
			return fmt.Errorf("slow query: %w", err)
		}
		return c.SendString("done")
	})
	app.Get("/fast", func(c *fiber.Ctx) error { return c.SendString("fast") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return ln.Addr().String(), ids, outcomes
}

func slowQueryID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "slow-" + hex.EncodeToString(b[:])
}

// running reports whether query id is in system.processes.
func running(t *testing.T, conn driver.Conn, id string) bool {
	var n uint64
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count() FROM system.processes WHERE query_id = ?", id).Scan(&n))
	return n > 0
}

// TestDisconnectCancelsQuery: a client that closes its connection while
// its request runs a ClickHouse query cancels the query on the server,
// long before it would have finished.
func TestDisconnectCancelsQuery(t *testing.T) {
	conn, _ := testenv.Database(t)
	addr, ids, outcomes := slowServer(t, conn, time.Minute)

	client, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	_, err = io.WriteString(client, "GET /slow HTTP/1.1\r\nHost: siyu\r\n\r\n")
	require.NoError(t, err)
	id := <-ids
	testenv.Eventually(t, 10*time.Second, func() error {
		if !running(t, conn, id) {
			return fmt.Errorf("query %s not running yet", id)
		}
		return nil
	})

	start := time.Now()
	require.NoError(t, client.Close())
	select {
	case err := <-outcomes:
		require.Error(t, err, "the handler's query ends with the request's context")
	case <-time.After(10 * time.Second):
		t.Fatal("the handler still runs its query 10 s after its client left")
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if running(t, conn, id) {
			return fmt.Errorf("query %s still in system.processes", id)
		}
		return nil
	})
	require.Less(t, time.Since(start), 15*time.Second, "cancelled, not finished (the query takes 30 s)")
	t.Logf("FIGURE client disconnected -> its ClickHouse query gone from system.processes: %v", time.Since(start).Round(time.Millisecond))
}

// TestDeadlineEndsQuery: a read that outlives its deadline ends its
// ClickHouse query and answers 503 with code timeout; the connection
// stays usable (keep-alive) once the watcher has let go of it.
func TestDeadlineEndsQuery(t *testing.T) {
	conn, _ := testenv.Database(t)
	addr, ids, outcomes := slowServer(t, conn, time.Second)

	client, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer client.Close()
	br := bufio.NewReader(client)
	start := time.Now()
	_, err = io.WriteString(client, "GET /slow HTTP/1.1\r\nHost: siyu\r\n\r\n")
	require.NoError(t, err)
	id := <-ids
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	var got struct{ Error Error }
	require.NoError(t, json.Unmarshal(body, &got))
	require.Equal(t, "timeout", got.Error.Code, "%s", body)
	require.Less(t, time.Since(start), 10*time.Second)
	t.Logf("FIGURE 1 s deadline -> 503 timeout answered after %v", time.Since(start).Round(time.Millisecond))
	require.Error(t, <-outcomes, "the query ended at the deadline")
	testenv.Eventually(t, 5*time.Second, func() error {
		if running(t, conn, id) {
			return fmt.Errorf("query %s still in system.processes", id)
		}
		return nil
	})

	// The same connection serves the next request.
	_, err = io.WriteString(client, "GET /fast HTTP/1.1\r\nHost: siyu\r\n\r\n")
	require.NoError(t, err)
	resp, err = http.ReadResponse(br, nil)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "fast", string(body))
}
