package auth

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"
)

// cheap are small costs for tests; the format and the checks are the same.
var cheap = PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestPasswordHashRoundTrip(t *testing.T) {
	h, err := HashPassword("correct horse battery 马", cheap)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$"), h)
	require.NoError(t, VerifyPassword("correct horse battery 马", h))
	require.ErrorIs(t, VerifyPassword("correct horse battery 马 ", h), ErrPasswordMismatch)
	require.ErrorIs(t, VerifyPassword("", h), ErrPasswordMismatch)

	h2, err := HashPassword("correct horse battery 马", cheap)
	require.NoError(t, err)
	require.NotEqual(t, h, h2, "a fresh salt each time")
}

// TestPasswordHashIsArgon2id: the stored key is argon2id's output for the
// salt and costs the string names, so any argon2 library verifies it.
func TestPasswordHashIsArgon2id(t *testing.T) {
	h, err := HashPassword("0123456789abc", cheap)
	require.NoError(t, err)
	parts := strings.Split(h, "$")
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	require.NoError(t, err)
	want := argon2.IDKey([]byte("0123456789abc"), salt, 1, 64, 1, 32)
	require.Equal(t, base64.RawStdEncoding.EncodeToString(want), parts[5])
}

func TestPasswordRefusals(t *testing.T) {
	for _, pw := range []string{"", "short", strings.Repeat("x", MaxPasswordLen+1), "bad utf8 \xff\xfe 12345"} {
		_, err := HashPassword(pw, cheap)
		require.ErrorIs(t, err, ErrWeakPassword, "%q", pw)
	}
	for _, h := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", // 95 GiB asked
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5"} {
		err := VerifyPassword("0123456789abc", h)
		require.Error(t, err, "%q", h)
		require.NotErrorIs(t, err, ErrPasswordMismatch, "%q is not a hash", h)
	}
}

// BenchmarkHashPassword is the cost of one sign-in's hash at the default
// costs.
func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("correct horse battery", DefaultPasswordParams); err != nil {
			b.Fatal(err)
		}
	}
}
