package event

import "github.com/valyala/fastjson"

// AppendValue appends a parsed JSON value as JSON. It exists because
// fastjson's own MarshalTo re-escapes strings with Go escapes (\x00, \v),
// which are not JSON: everything Siyu forwards or stores must stay JSON.
// Object keys keep their order; numbers, booleans and null are written as
// the producer wrote them.
func AppendValue(dst []byte, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeObject:
		dst = append(dst, '{')
		n := 0
		v.GetObject().Visit(func(k []byte, vv *fastjson.Value) {
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = AppendValue(dst, vv)
		})
		return append(dst, '}')
	case fastjson.TypeArray:
		dst = append(dst, '[')
		for i, vv := range v.GetArray() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendValue(dst, vv)
		}
		return append(dst, ']')
	case fastjson.TypeString:
		return appendString(dst, v.GetStringBytes())
	}
	return v.MarshalTo(dst)
}
