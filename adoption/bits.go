package adoption

import (
	"math/bits"
	"slices"
)

// BlockDays is how many days one row of the active-bits rollups covers
// (sql/migrations/0012_active_bits.sql): bit i of block b is day 64b + i.
const BlockDays = 64

// blockOf is the block that holds day d.
func blockOf(d Day) int64 { return int64(d) / BlockDays }

// DaysOfBits returns the sorted days in [from, to] whose bits are set; a
// block may repeat (its bits are OR-ed).
func DaysOfBits(blocks []uint16, masks []uint64, from, to Day) []Day {
	var out []Day
	for i, b := range blocks {
		for m := masks[i]; m != 0; m &= m - 1 {
			d := Day(int(b)*BlockDays + bits.TrailingZeros64(m))
			if d >= from && d <= to {
				out = append(out, d)
			}
		}
	}
	if len(blocks) > 1 {
		slices.Sort(out)
		out = dedupe(out)
	}
	return out
}

// dedupe drops repeats from sorted days.
func dedupe(days []Day) []Day {
	if len(days) < 2 {
		return days
	}
	w := 1
	for _, d := range days[1:] {
		if d != days[w-1] {
			days[w] = d
			w++
		}
	}
	return days[:w]
}

// FirstOfBits is the first day whose bit is set (false: none).
func FirstOfBits(blocks []uint16, masks []uint64) (Day, bool) {
	first, ok := Day(0), false
	for i, b := range blocks {
		if masks[i] == 0 {
			continue
		}
		d := Day(int(b)*BlockDays + bits.TrailingZeros64(masks[i]))
		if !ok || d < first {
			first, ok = d, true
		}
	}
	return first, ok
}
