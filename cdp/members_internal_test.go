package cdp

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/testenv"
)

// TestMembersOfAChunk: the columns of a full export chunk of ids are read
// in one query, within ClickHouse's limits on query size and syntax tree.
func TestMembersOfAChunk(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ClickHouse")
	}
	conn, _ := testenv.Database(t)
	ids := make([]string, eachChunk)
	for i := range ids {
		ids[i] = fmt.Sprintf("wm%08d", i)
	}
	n := 0
	err := NewSegments(conn, nil).members(context.Background(), "acme", ids, func(*SegmentMember) error { n++; return nil })
	require.NoError(t, err)
	require.Zero(t, n)
}
