package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id's costs (RFC 9106). DefaultPasswordParams
// is RFC 9106's second recommended option (64 MiB, 3 passes) with 2 lanes:
// one hash takes ~150 ms here (BenchmarkHashPassword), which bounds a
// guessing attack on a stolen hash and costs a sign-in little (sign-ins
// are also to be throttled).
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen int
	KeyLen  uint32
}

// DefaultPasswordParams are the costs of new hashes.
var DefaultPasswordParams = PasswordParams{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}

// Password length bounds, in characters: long enough to matter, short
// enough that hashing stays bounded.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 256
)

// ErrWeakPassword is a password outside the bounds.
var ErrWeakPassword = fmt.Errorf("a password has %d to %d characters of valid UTF-8", MinPasswordLen, MaxPasswordLen)

// ErrPasswordMismatch is a password that does not match its hash.
var ErrPasswordMismatch = errors.New("the password does not match")

// CheckPassword refuses a password outside the bounds.
func CheckPassword(pw string) error {
	if n := utf8.RuneCountInString(pw); !utf8.ValidString(pw) || n < MinPasswordLen || n > MaxPasswordLen {
		return ErrWeakPassword
	}
	return nil
}

// HashPassword hashes pw with argon2id and a random salt, in the PHC string
// format every argon2 library reads:
// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<key> (unpadded standard base64).
func HashPassword(pw string, p PasswordParams) (string, error) {
	if err := CheckPassword(pw); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches hash (HashPassword's format,
// with the costs it names), in constant time; ErrPasswordMismatch when it
// does not, another error when hash is not one.
func VerifyPassword(pw, hash string) error {
	p, salt, key, err := parsePasswordHash(hash)
	if err != nil {
		return err
	}
	if len(pw) > 4*MaxPasswordLen {
		return ErrPasswordMismatch // never hashed: no stored password is that long
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return ErrPasswordMismatch
	}
	return nil
}

// maxPasswordMemory bounds the memory a stored hash may ask for (KiB), so
// a forged hash cannot make a sign-in allocate gigabytes.
const maxPasswordMemory = 1 << 20

func parsePasswordHash(hash string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	bad := func(why string) (PasswordParams, []byte, []byte, error) {
		return p, nil, nil, fmt.Errorf("not an argon2id password hash: %s", why)
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("want $argon2id$v=19$m=…,t=…,p=…$salt$key")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("version " + parts[2])
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return bad("parameter " + kv)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return bad("parameter " + kv)
			}
			p.Threads = uint8(n)
		default:
			return bad("parameter " + kv)
		}
	}
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxPasswordMemory || p.Time < 1 || p.Time > 16 || p.Threads < 1 {
		return bad("costs out of range")
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return bad("salt")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return bad("key")
	}
	return p, salt, key, nil
}
