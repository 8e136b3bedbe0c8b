package cdp

import "testing"

func TestPhoneID(t *testing.T) {
	for raw, want := range map[string]string{
		"13800138000":           "13800138000",
		"+86 138-0013-8000":     "13800138000",
		"0086 13800138000":      "13800138000",
		"8613800138000":         "13800138000",
		"(021) 6234-5678":       "02162345678",
		"+1 415 555 0100":       "14155550100",
		"110":                   "",
		"":                      "",
		"tel: 86-138 0013 8000": "13800138000",
	} {
		if got := PhoneID(raw); got != want {
			t.Errorf("PhoneID(%q) = %q, want %q", raw, got, want)
		}
	}
	for id, want := range map[string]string{
		"+86 138 0013 8000": "13800138000",
		"13800138000":       "", // already an identifier
		"wm_abc123":         "", // not a phone
		"o_6Xk0":            "",
	} {
		if got := phoneLookup(id); got != want {
			t.Errorf("phoneLookup(%q) = %q, want %q", id, got, want)
		}
	}
}
