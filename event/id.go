package event

import (
	"unicode"
	"unicode/utf8"
)

// MaxIDChars bounds an id: "opaque strings of 1–128 chars" (events.md).
const MaxIDChars = 128

// CheckID is the one id rule of Siyu: the decoder applies it to an event's
// id, subject and id fields (staff_id, tag_id, ...), and the API to every id
// a request names (path, query and body), so that the pipeline dead-letters
// what the API refuses. field names the id in the error.
//
// The contract calls ids opaque; opaque is not arbitrary: an id is a record
// key, a ClickHouse key, a path segment and a CSV cell, so it must read the
// same everywhere. An id is 1–MaxIDChars characters of valid UTF-8 without
// control characters (NUL, tab, CR, LF, DEL, C1), format characters
// (invisible: bidi overrides, zero-width joiners, BOM), line and paragraph
// separators, noncharacters and U+FFFD (the mark of text that was not
// UTF-8), and without white space at either end. Unassigned code points
// are allowed: whether a code point is assigned depends on the Unicode
// version of the binary, and a rule that a Go upgrade changes would judge
// a replayed log differently (docs/decisions.md, "Input hygiene").
func CheckID(field, s string) error {
	n := 0
	for i := 0; i < len(s); n++ {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return invalid(field, "must not contain control characters (%U)", c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return invalid(field, "is not valid UTF-8")
		}
		if what := unprintable(r); what != "" {
			return invalid(field, "must not contain %s (%U)", what, r)
		}
		i += size
	}
	if n == 0 || n > MaxIDChars {
		return invalid(field, "must be 1–%d characters", MaxIDChars)
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return invalid(field, "must not begin or end with white space")
	}
	return nil
}

// unprintable names the class of a non-ASCII rune an id must not hold, or "".
func unprintable(r rune) string {
	switch {
	case r == utf8.RuneError:
		return "U+FFFD, the replacement for bytes that were not UTF-8"
	case unicode.Is(unicode.Cc, r):
		return "control characters"
	case unicode.Is(unicode.Cf, r):
		return "invisible format characters"
	case unicode.In(r, unicode.Zl, unicode.Zp):
		return "line or paragraph separators"
	case r >= 0xfdd0 && r <= 0xfdef, r&0xfffe == 0xfffe:
		return "noncharacters"
	}
	return ""
}
