package cdp

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEngagementOf(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name string
		ago  time.Duration
		want string
	}{
		{"an hour ago", time.Hour, EngagedActive7d},
		{"exactly 7 days", 7 * day, EngagedActive7d},
		{"7 days and a second", 7*day + time.Second, EngagedActive30d},
		{"exactly 30 days", 30 * day, EngagedActive30d},
		{"31 days", 31 * day, EngagedActive90d},
		{"exactly 90 days", 90 * day, EngagedActive90d},
		{"91 days", 91 * day, EngagedDormant},
		{"in the future (clock skew)", -time.Hour, EngagedActive7d},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, EngagementOf(now.Add(-tt.ago).UnixNano(), now))
		})
	}
	require.Equal(t, EngagedNever, EngagementOf(0, now))
}
