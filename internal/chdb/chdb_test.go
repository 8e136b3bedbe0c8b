package chdb_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/chdb"
)

func TestEngine(t *testing.T) {
	e := chdb.OpenForTest(t)

	out, err := e.Query("SELECT 1 + 1 AS two", "TSV")
	require.NoError(t, err)
	require.Equal(t, "2\n", out)

	out, err = e.Query("SELECT 'x' FROM system.one WHERE 0", "TSV")
	require.NoError(t, err)
	require.Empty(t, out)

	_, err = e.Query("SELECT no_such_column", "TSV")
	require.ErrorContains(t, err, "no_such_column")

	e.Close()
	e.Close() // safe twice
	_, err = e.Query("SELECT 1", "TSV")
	require.ErrorIs(t, err, chdb.ErrClosed)
}

func TestLibPath(t *testing.T) {
	t.Setenv(chdb.EnvLib, "/x/libchdb.so")
	require.Equal(t, "/x/libchdb.so", chdb.LibPath())
	t.Setenv(chdb.EnvLib, "")
	t.Setenv("HOME", "/home/u")
	require.Equal(t, "/home/u/.cache/siyu/chdb/package/libchdb.so", chdb.LibPath())
}
