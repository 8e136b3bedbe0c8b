package auth

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	l := newLRU[int, string](3)
	l.put(1, "a")
	l.put(2, "b")
	l.put(3, "c")
	_, _ = l.get(1) // 2 is now the least recently used
	l.put(4, "d")

	_, ok := l.get(2)
	require.False(t, ok, "the least recently used entry is evicted")
	for _, k := range []int{1, 3, 4} {
		_, ok := l.get(k)
		require.True(t, ok, "entry %d", k)
	}
	require.Equal(t, 3, l.len())
}

func TestLRUBound(t *testing.T) {
	for _, max := range []int{1, 2, 100} {
		l := newLRU[int, int](max)
		for i := range 10_000 {
			l.put(i, i)
			l.put(i, i+1) // an update does not grow the map
			require.LessOrEqual(t, l.len(), max)
		}
		require.Equal(t, max, l.len())
		v, ok := l.get(9_999)
		require.True(t, ok)
		require.Equal(t, 10_000, v)
	}
}

func TestLRURemove(t *testing.T) {
	l := newLRU[string, int](2)
	l.put("a", 1)
	l.put("b", 2)
	l.remove("a")
	l.remove("missing")
	l.put("c", 3)
	l.put("d", 4) // evicts b, the only old entry left
	_, ok := l.get("b")
	require.False(t, ok)
	require.Equal(t, 2, l.len())
	l.remove("c")
	l.remove("d")
	require.Zero(t, l.len())
	require.Nil(t, l.head)
	require.Nil(t, l.tail)
}
