package event

import (
	"strconv"
	"time"
)

// AppendJSON appends e as a CloudEvents 1.0 JSON object. The data object is
// written from the typed fields marked present, in catalogue order, so that
// the same event always encodes to the same bytes. Data.Raw is ignored: use
// it directly to forward an event exactly as its producer wrote it.
func AppendJSON(dst []byte, e *Event) []byte {
	dst = append(dst, `{"specversion":"1.0","id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"source":`...)
	dst = appendString(dst, e.Source)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, string(e.Type))
	dst = append(dst, `,"time":"`...)
	dst = e.Time.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","tenant":`...)
	dst = appendString(dst, e.Tenant)
	dst = append(dst, `,"subject":`...)
	dst = appendString(dst, e.Subject)
	dst = append(dst, `,"data":`...)
	dst = AppendDataJSON(dst, &e.Data)
	return append(dst, '}')
}

// AppendDataJSON appends the present typed fields of d as a JSON object.
func AppendDataJSON(dst []byte, d *Data) []byte {
	dst = append(dst, '{')
	first := true
	for f := Field(0); f < numFields; f++ {
		if !d.Present.Has(f) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		spec := &fields[f]
		dst = appendString(dst, spec.name)
		dst = append(dst, ':')
		switch spec.kind {
		case kindString:
			dst = appendString(dst, *spec.str(d))
		case kindInt:
			dst = strconv.AppendInt(dst, *spec.num(d), 10)
		case kindBool:
			dst = strconv.AppendBool(dst, *spec.flag(d))
		case kindTime:
			dst = append(dst, '"')
			dst = time.Unix(0, *spec.num(d)).UTC().AppendFormat(dst, time.RFC3339Nano)
			dst = append(dst, '"')
		}
	}
	return append(dst, '}')
}

// Set stores a string field and marks it present.
func (d *Data) Set(f Field, s string) { *fields[f].str(d) = s; d.Present |= 1 << f }

// SetInt stores an integer field and marks it present.
func (d *Data) SetInt(f Field, n int64) { *fields[f].num(d) = n; d.Present |= 1 << f }

// SetBool stores a boolean field and marks it present.
func (d *Data) SetBool(f Field, b bool) { *fields[f].flag(d) = b; d.Present |= 1 << f }

// SetTime stores a time field and marks it present.
func (d *Data) SetTime(f Field, t time.Time) { *fields[f].num(d) = t.UnixNano(); d.Present |= 1 << f }

// appendString appends s as a JSON string. s is valid UTF-8 (the decoder
// guarantees it), so only quotes, backslashes and control characters escape.
func appendString[T string | []byte](dst []byte, s T) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
