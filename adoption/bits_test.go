package adoption

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDaysOfBits(t *testing.T) {
	tests := []struct {
		name     string
		blocks   []uint16
		masks    []uint64
		from, to Day
		want     []Day
	}{
		{"one block", []uint16{2}, []uint64{0b1011}, 0, 1000, []Day{128, 129, 131}},
		{"clipped to the range", []uint16{2}, []uint64{0b1011}, 129, 130, []Day{129}},
		{"blocks out of order", []uint16{3, 2}, []uint64{1, 1 << 63}, 0, 1000, []Day{191, 192}},
		{"a repeated block ORs", []uint16{2, 2}, []uint64{1, 3}, 0, 1000, []Day{128, 129}},
		{"none", nil, nil, 0, 1000, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, DaysOfBits(tt.blocks, tt.masks, tt.from, tt.to))
		})
	}
}

func TestFirstOfBits(t *testing.T) {
	tests := []struct {
		name   string
		blocks []uint16
		masks  []uint64
		want   Day
		ok     bool
	}{
		{"lowest bit of the lowest block", []uint16{3, 2}, []uint64{1, 0b1100}, 130, true},
		{"an empty mask is no day", []uint16{1, 2}, []uint64{0, 1 << 63}, 191, true},
		{"none", nil, nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FirstOfBits(tt.blocks, tt.masks)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, got)
		})
	}
}
