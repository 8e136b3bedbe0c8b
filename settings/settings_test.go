package settings_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/settings"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestSettingsStore: the defaults until set, the latest write wins (two
// writes in one second included), tenants apart, and a write through the
// store is read back at once despite the cache.
func TestSettingsStore(t *testing.T) {
	conn, _ := testenv.Database(t)
	ctx := context.Background()
	s := settings.NewStore(conn, time.Minute)
	got, err := s.Get(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, settings.Settings{}, got)

	_, err = s.Put(ctx, "acme", settings.Settings{MaskPhonesForReps: true})
	require.NoError(t, err)
	got, err = s.Get(ctx, "acme")
	require.NoError(t, err)
	require.True(t, got.MaskPhonesForReps)
	require.WithinDuration(t, time.Now(), got.UpdatedAt, 5*time.Second)

	_, err = s.Put(ctx, "acme", settings.Settings{MaskPhonesForReps: false})
	require.NoError(t, err)
	got, err = s.Get(ctx, "acme")
	require.NoError(t, err)
	require.False(t, got.MaskPhonesForReps, "the later of two writes in one second wins")

	other, err := settings.NewStore(conn, 0).Get(ctx, "globex")
	require.NoError(t, err)
	require.False(t, other.MaskPhonesForReps)
	fresh, err := settings.NewStore(conn, 0).Get(ctx, "acme")
	require.NoError(t, err)
	require.False(t, fresh.MaskPhonesForReps, "another replica reads the stored value")
}

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{
		"13800138000":       "138****8000",
		"+86 138-0013-8000": "138****8000",
		"0086 13800138000":  "138****8000",
		"021-6666-7777":     "021****7777",
		"12345":             "****",
		"":                  "",
	} {
		require.Equal(t, want, settings.MaskPhone(in), in)
	}
}
