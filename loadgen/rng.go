package loadgen

// rng is SplitMix64. It is written out here, not taken from math/rand, so
// that a seed yields the same stream on every Go version: the stream is a
// test fixture, and math/rand/v2 does not promise stable bounded draws.
type rng struct{ s uint64 }

func newRNG(seed uint64) rng { return rng{s: seed} }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// mix64 is SplitMix64's finaliser, also used to hash ids out of indexes.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// intn returns a value in [0, n) for 0 < n < 2^32, by multiply-shift; its
// bias (below 2^-32) does not matter for synthetic data.
func (r *rng) intn(n int) int { return int((r.next() >> 32) * uint64(n) >> 32) }

// float returns a value in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func (r *rng) chance(p float64) bool { return r.float() < p }

// skewed returns a value in [0, n) that favours high indexes: with the power
// 2, the top tenth of [0, n) is drawn about a third of the time. Lists ordered
// oldest first then favour the recent.
func (r *rng) skewed(n int) int {
	u := r.float()
	return n - 1 - int(float64(n)*u*u)
}

func pick[T any](r *rng, list []T) T { return list[r.intn(len(list))] }

// weighted is one value of an enumeration and its relative weight.
type weighted[T any] struct {
	v T
	w int
}

// choice draws from a small weighted enumeration by a linear scan, which
// beats a binary search for the handful of values it holds.
type choice[T any] struct {
	vals  []T
	cum   []int
	total int
}

func newChoice[T any](items ...weighted[T]) choice[T] {
	var c choice[T]
	for _, it := range items {
		c.total += it.w
		c.vals = append(c.vals, it.v)
		c.cum = append(c.cum, c.total)
	}
	return c
}

func (c *choice[T]) pick(r *rng) T {
	x := r.intn(c.total)
	for i, cum := range c.cum {
		if x < cum {
			return c.vals[i]
		}
	}
	return c.vals[len(c.vals)-1]
}

// Alphabets for ids.
const (
	base36 = "0123456789abcdefghijklmnopqrstuvwxyz"
	base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	base64 = base62 + "-_"
)

// hashID returns prefix followed by n characters of alphabet derived from
// key, the same for the same key. Each 64-bit hash yields 10 characters
// (alphabets up to 64 symbols use 6 bits each).
func hashID(prefix string, n int, alphabet string, key uint64) string {
	b := make([]byte, 0, len(prefix)+n)
	b = append(b, prefix...)
	var h uint64
	for i := 0; i < n; i++ {
		if i%10 == 0 {
			key = mix64(key + 0x9e3779b97f4a7c15)
			h = key
		}
		b = append(b, alphabet[int(h&63)%len(alphabet)])
		h >>= 6
	}
	return string(b)
}

// appendPadded appends n written in alphabet (its length is the base),
// padded with its zero digit to width: padded ids of one tenant sort in the
// order they were issued.
func appendPadded(dst []byte, n uint64, width int, alphabet string) []byte {
	base := uint64(len(alphabet))
	var tmp [16]byte
	i := len(tmp)
	for n > 0 || len(tmp)-i < width {
		i--
		tmp[i] = alphabet[n%base]
		n /= base
	}
	return append(dst, tmp[i:]...)
}
