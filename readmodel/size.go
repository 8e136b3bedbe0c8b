package readmodel

import "runtime"

// The estimates a model's Bytes is made of. They count what the allocator
// hands out for a structure — its size rounded up to a size class — not
// what the garbage collector adds on top (the heap may grow to about twice
// the live bytes before a collection, GOGC=100). TestSizeEstimates holds
// them to the heap growth of real structures.

// Alloc is the bytes the allocator hands out for an object of n bytes
// (Go's size classes, approximated: within 1/8 above 1 KB).
func Alloc(n int64) int64 {
	switch {
	case n <= 0:
		return 0
	case n <= 8:
		return 8
	case n <= 256:
		return (n + 15) &^ 15
	case n <= 1024:
		return (n + 63) &^ 63
	case n <= 32<<10:
		step := int64(1) << (bitLen(n) - 4) // 8 classes per power of two
		return (n + step - 1) / step * step
	}
	return (n + 8191) &^ 8191 // whole pages
}

// String is the bytes of a string's data (its header is counted where it
// is held); shared strings (interned) count where they are made.
func String(s string) int64 { return Alloc(int64(len(s))) }

// Slice is the bytes of a slice's backing array of capacity elements of
// elem bytes.
func Slice(capacity int, elem int64) int64 { return Alloc(int64(capacity) * elem) }

// Map is the bytes of a map of n entries of key and value bytes (the
// headers; what they point to is counted by the caller): Go's tables keep
// 8 slots a group with a control word, filled to between 7/16 and 7/8.
func Map(n int, key, value int64) int64 {
	if n == 0 {
		return 0
	}
	return int64(n) * (key + value + 1) * 3 / 2
}

func bitLen(n int64) int {
	l := 0
	for ; n > 0; n >>= 1 {
		l++
	}
	return l
}

// HeapGrowth runs build and reports how much the live heap grew by what it
// built and kept reachable (measured after a collection before and after):
// what the tests of the models' Bytes hold them to. build must keep its
// result reachable from outside (assign it to a captured variable).
func HeapGrowth(build func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	build()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}
