package loadgen

// A contact's attributes derive from its hash key, not from the stream's
// draws, so that they agree wherever they appear (the name in contact.added
// and in a later remark) without being stored. Each uses its own bits of
// the key.

func contactName(key uint64) string {
	if key%100 < 18 {
		return nicknames[(key>>8)%uint64(len(nicknames))]
	}
	return surnames[(key>>8)%uint64(len(surnames))] + givenNames[(key>>20)%uint64(len(givenNames))]
}

// hasUnionID: about 60% of customers have a WeChat unionid visible to the
// tenant (those who also follow its official account or mini program).
func hasUnionID(key uint64) bool { return (key>>32)%100 < 60 }

// unionID looks like a WeChat unionid: "o" and 27 URL-safe characters.
func unionID(key uint64) string { return hashID("o", 27, base64, key^0x756e696f6e6964) }

// isBusiness: about a quarter of customers come with a company.
func isBusiness(key uint64) bool { return (key>>40)%100 < 25 }

func corpName(key uint64) string {
	h := mix64(key ^ 0x636f7270)
	return cities[h%uint64(len(cities))] + brands[(h>>16)%uint64(len(brands))] +
		trades[(h>>32)%uint64(len(trades))] + "有限公司"
}

// phone is a mainland mobile number: 1, a second digit of 3–9, nine more.
func phone(key uint64) string {
	h := mix64(key ^ 0x70686f6e65)
	b := make([]byte, 0, 11)
	b = append(b, '1', "3456789"[h%7])
	h /= 7
	return string(appendPadded(b, h%1_000_000_000, 9, "0123456789"))
}
