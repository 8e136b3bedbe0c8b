package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/internal/testenv"
)

// TestUsersCreateCLI is `siyu users create`: the password comes from
// SIYU_PASSWORD (never a flag), the user can sign in with it, a taken
// login fails, and each bad value is a usage error naming its flag.
func TestUsersCreateCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("writes to ClickHouse")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const pw = "correct horse battery"
	t.Setenv("SIYU_PASSWORD", pw)
	conn, dsn := testenv.Database(t)
	siyu := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"users", "create", "--clickhouse-dsn", dsn}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	code, out, errOut := siyu("--tenant", "acme", "--login", "ada@acme", "--role", "admin", "--name", "Ada")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "ada@acme\n", out)
	s, err := auth.NewUsers(conn, nil).SignIn(ctx, "ada@acme", pw, "127.0.0.1")
	require.NoError(t, err)
	require.Equal(t, "acme", s.Tenant)

	code, _, errOut = siyu("--tenant", "globex", "--login", "ada@acme", "--role", "admin")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "login taken")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tenant", "acme", "--login", "Ada", "--role", "admin"}, "--login: "},
		{[]string{"--tenant", "acme", "--login", "ray@acme", "--role", "rep"}, "--staff-id: "},
		{[]string{"--tenant", "acme", "--login", "ray@acme", "--role", "boss"}, "--role: "},
		{[]string{"--tenant", "Acme", "--login", "ray@acme", "--role", "admin"}, "--tenant: "},
	} {
		code, _, errOut := siyu(tc.args...)
		require.Equal(t, 2, code, errOut)
		require.Contains(t, errOut, tc.want)
	}
	t.Setenv("SIYU_PASSWORD", "short")
	code, _, errOut = siyu("--tenant", "acme", "--login", "ray@acme", "--role", "admin")
	require.Equal(t, 2, code, errOut)
	require.Contains(t, errOut, "SIYU_PASSWORD or stdin: ")
}

func TestUsersHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"users", "--help"}, &stdout, &stderr))
	require.Contains(t, stdout.String(), "SIYU_PASSWORD")
	require.Contains(t, stdout.String(), "siyu users create --tenant T --login L --role R")
	stdout.Reset()
	require.Equal(t, 0, run(nil, &stdout, &stderr))
	require.True(t, strings.Contains(stdout.String(), "users") && strings.Contains(stdout.String(), "create console users"))
}
