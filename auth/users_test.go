package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/errkind"
	"github.com/siyu-dev/siyu/internal/testenv"
)

// cheapPasswords keeps the tests fast: the costs are read from each hash.
var cheapPasswords = PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestNewUserValidate(t *testing.T) {
	ok := NewUser{Login: "ada@acme.cn", Tenant: "acme", Name: "Ada", Role: RoleRep, StaffID: "s1", Password: "correct horse"}
	require.NoError(t, ok.Validate())
	cases := []struct {
		name  string
		edit  func(*NewUser)
		field string
	}{
		{"short login", func(n *NewUser) { n.Login = "ab" }, "login"},
		{"long login", func(n *NewUser) { n.Login = strings.Repeat("a", 65) }, "login"},
		{"upper-case login", func(n *NewUser) { n.Login = "Ada" }, "login"},
		{"space in login", func(n *NewUser) { n.Login = "ada lovelace" }, "login"},
		{"bad tenant", func(n *NewUser) { n.Tenant = "Acme" }, "tenant"},
		{"unknown role", func(n *NewUser) { n.Role = "boss" }, "role"},
		{"rep without staff id", func(n *NewUser) { n.StaffID = "" }, "staff_id"},
		{"staff id with a newline", func(n *NewUser) { n.StaffID = "s\n1" }, "staff_id"},
		{"short password", func(n *NewUser) { n.Password = "short" }, "password"},
		{"long name", func(n *NewUser) { n.Name = strings.Repeat("名", MaxNameLen+1) }, "name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := ok
			tc.edit(&n)
			err := n.Validate()
			e, isKind := errkind.Of(err)
			require.True(t, isKind, "%v", err)
			require.Equal(t, errkind.Validation, e.Kind)
			require.Equal(t, tc.field, e.Field)
			require.NotEmpty(t, e.Public)
		})
	}
	require.True(t, ValidLogin("a.b_c-d@e.f"))
}

func newTestUsers(t *testing.T) (*Users, *prometheus.Registry, *time.Time) {
	t.Helper()
	conn, _ := testenv.Database(t)
	reg := prometheus.NewRegistry()
	u := NewUsers(conn, reg, WithPasswordParams(cheapPasswords))
	clock := time.Now()
	u.now = func() time.Time { return clock }
	return u, reg, &clock
}

// TestUsersInClickHouse runs the user store on a real ClickHouse.
func TestUsersInClickHouse(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	u, reg, clock := newTestUsers(t)
	const pw = "correct horse battery"

	ada, err := u.Create(ctx, NewUser{Login: "ada", Tenant: "acme", Name: "Ada", Role: RoleAdmin, Password: pw})
	require.NoError(t, err)
	require.Equal(t, "acme", ada.Tenant)
	_, err = u.Create(ctx, NewUser{Login: "ada", Tenant: "globex", Name: "Other", Role: RoleAdmin, Password: pw})
	require.ErrorIs(t, err, ErrLoginTaken, "logins are unique across tenants")
	require.True(t, errkind.Is(err, errkind.Conflict))
	_, err = u.Create(ctx, NewUser{Login: "bob", Tenant: "acme", Name: "Bob", Role: RoleRep, StaffID: "s2", Password: pw})
	require.NoError(t, err)
	_, err = u.Create(ctx, NewUser{Login: "ann", Tenant: "acme", Name: "Ann", Role: RoleManager, StaffID: "s2", Password: pw})
	require.NoError(t, err)
	_, err = u.Create(ctx, NewUser{Login: "gus", Tenant: "globex", Name: "Gus", Role: RoleAdmin, Password: pw})
	require.NoError(t, err)

	list, err := u.List(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, []string{"ada", "ann", "bob"}, logins(list))
	_, err = u.Get(ctx, "nobody")
	require.ErrorIs(t, err, ErrNoUser)

	t.Run("update", func(t *testing.T) {
		name, role := "Ada L.", RoleManager
		got, err := u.Update(ctx, "ada", UserUpdate{Name: &name, Role: &role})
		require.NoError(t, err)
		require.Equal(t, "Ada L.", got.Name)
		back, err := u.Get(ctx, "ada")
		require.NoError(t, err)
		require.Equal(t, got, back, "unmerged rows read as the latest version")
		rep := RoleRep
		_, err = u.Update(ctx, "ada", UserUpdate{Role: &rep})
		require.True(t, errkind.Is(err, errkind.Validation), "a rep needs a staff id: %v", err)
		admin := RoleAdmin
		_, err = u.Update(ctx, "ada", UserUpdate{Role: &admin})
		require.NoError(t, err)
	})

	t.Run("sign in", func(t *testing.T) {
		s, err := u.SignIn(ctx, " Ada ", pw, "192.0.2.1")
		require.NoError(t, err, "logins are case-insensitive at sign-in")
		require.True(t, strings.HasPrefix(s.Token, "siyus_"))
		require.Len(t, s.Token, 49)
		require.NotEmpty(t, s.CSRF)
		require.Equal(t, clock.Add(DefaultSessionTTL).UnixMilli(), s.Expires.UnixMilli())
		p, info, err := u.Session(ctx, s.Token)
		require.NoError(t, err)
		require.Equal(t, Principal{Tenant: "acme", Role: RoleAdmin, Name: "Ada L.", Login: "ada"}, p)
		require.Equal(t, s.CSRF, info.CSRF)

		for _, tc := range []struct{ login, pw string }{{"ada", "wrong password"}, {"nobody", pw}} {
			_, err := u.SignIn(ctx, tc.login, tc.pw, "192.0.2.2")
			require.ErrorIs(t, err, ErrBadCredentials)
			require.True(t, errkind.Is(err, errkind.Unauthorized))
		}
		require.Equal(t, 2.0, testenv.Counter(t, reg, "siyu_console_signins_total", "result", "bad_credentials"))
	})

	t.Run("throttled", func(t *testing.T) {
		for range DefaultSignInBurst {
			_, err := u.SignIn(ctx, "bob", "wrong password", "192.0.2.3")
			require.ErrorIs(t, err, ErrBadCredentials)
		}
		_, err := u.SignIn(ctx, "bob", pw, "192.0.2.4")
		var th *SignInThrottledError
		require.True(t, errors.As(err, &th), "the right password is not even checked: %v", err)
		require.Equal(t, DefaultSignInEvery, th.RetryAfter)
		require.True(t, errkind.Is(err, errkind.RateLimited))
		*clock = clock.Add(DefaultSignInEvery)
		_, err = u.SignIn(ctx, "bob", pw, "192.0.2.4")
		require.NoError(t, err, "one try per 30 s")
		_, err = u.SignIn(ctx, "bob", "wrong password", "192.0.2.4")
		require.ErrorIs(t, err, ErrBadCredentials, "a success resets the login")
		require.Equal(t, 1.0, testenv.Counter(t, reg, "siyu_console_signins_total", "result", "throttled"))
	})

	t.Run("sign out", func(t *testing.T) {
		a, err := u.SignIn(ctx, "ann", pw, "192.0.2.5")
		require.NoError(t, err)
		b, err := u.SignIn(ctx, "ann", pw, "192.0.2.5")
		require.NoError(t, err)
		require.NoError(t, u.SignOut(ctx, a.Token))
		_, _, err = u.Session(ctx, a.Token)
		require.ErrorIs(t, err, ErrNoSession)
		_, _, err = u.Session(ctx, b.Token)
		require.NoError(t, err, "only that session ends")
		u.forgetLogin("ann") // another replica: reads ClickHouse
		_, _, err = u.Session(ctx, a.Token)
		require.ErrorIs(t, err, ErrNoSession, "stored, not only cached")
	})

	t.Run("sign out everywhere to the millisecond", func(t *testing.T) {
		before, err := u.SignIn(ctx, "gus", pw, "192.0.2.6")
		require.NoError(t, err)
		*clock = clock.Add(time.Millisecond)
		same, err := u.SignIn(ctx, "gus", pw, "192.0.2.6")
		require.NoError(t, err)
		ada, err := u.SignIn(ctx, "ada", pw, "192.0.2.6")
		require.NoError(t, err)
		require.NoError(t, u.SignOutEverywhere(ctx, "gus")) // at the same millisecond as `same`
		*clock = clock.Add(time.Millisecond)
		after, err := u.SignIn(ctx, "gus", pw, "192.0.2.6")
		require.NoError(t, err)
		for _, s := range []Session{before, same} {
			_, _, err := u.Session(ctx, s.Token)
			require.ErrorIs(t, err, ErrNoSession)
		}
		_, _, err = u.Session(ctx, after.Token)
		require.NoError(t, err, "a session 1 ms after the sign-out is valid")
		_, _, err = u.Session(ctx, ada.Token)
		require.NoError(t, err, "other users' sessions live on")
	})

	t.Run("disabled and new password", func(t *testing.T) {
		s, err := u.SignIn(ctx, "bob", pw, "192.0.2.7")
		require.NoError(t, err)
		_, _, err = u.Session(ctx, s.Token) // cached now
		require.NoError(t, err)
		*clock = clock.Add(time.Millisecond)
		yes, no := true, false
		_, err = u.Update(ctx, "bob", UserUpdate{Disabled: &yes})
		require.NoError(t, err)
		_, _, err = u.Session(ctx, s.Token)
		require.ErrorIs(t, err, ErrNoSession, "at once on this replica")
		_, err = u.SignIn(ctx, "bob", pw, "192.0.2.7")
		require.ErrorIs(t, err, ErrBadCredentials, "a disabled user cannot sign in")
		*clock = clock.Add(time.Millisecond)
		_, err = u.Update(ctx, "bob", UserUpdate{Disabled: &no})
		require.NoError(t, err)
		_, _, err = u.Session(ctx, s.Token)
		require.ErrorIs(t, err, ErrNoSession, "enabling again does not revive sessions")
		s, err = u.SignIn(ctx, "bob", pw, "192.0.2.7")
		require.NoError(t, err)
		*clock = clock.Add(time.Millisecond)
		newPW := "another good password"
		_, err = u.Update(ctx, "bob", UserUpdate{Password: &newPW})
		require.NoError(t, err)
		_, _, err = u.Session(ctx, s.Token)
		require.ErrorIs(t, err, ErrNoSession)
		_, err = u.SignIn(ctx, "bob", newPW, "192.0.2.7")
		require.NoError(t, err)
	})

	t.Run("expiry", func(t *testing.T) {
		s, err := u.SignIn(ctx, "ada", pw, "192.0.2.8")
		require.NoError(t, err)
		*clock = clock.Add(DefaultSessionTTL)
		_, _, err = u.Session(ctx, s.Token)
		require.ErrorIs(t, err, ErrNoSession)
	})

	t.Run("staff sign-in", func(t *testing.T) {
		s, err := u.SignInStaff(ctx, "acme", "s2", "192.0.2.9")
		require.NoError(t, err)
		require.Equal(t, "bob", s.Login, "the rep first, though ann sorts before bob")
		_, err = u.SignInStaff(ctx, "globex", "s2", "192.0.2.9")
		require.ErrorIs(t, err, ErrNoConsoleUser, "another tenant's staff id")
		require.True(t, errkind.Is(err, errkind.Forbidden))
	})

	t.Run("malformed tokens", func(t *testing.T) {
		for _, tok := range []string{"", "siyus_x", "siyu_" + strings.Repeat("a", 44)} {
			_, _, err := u.Session(ctx, tok)
			require.ErrorIs(t, err, ErrNoSession)
		}
	})
}

func logins(us []User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Login
	}
	return out
}

// TestKeysListAndRevoke: a tenant lists its keys without secrets, and a
// revoked key is refused at once by the process that revoked it.
func TestKeysListAndRevoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _ := testenv.Database(t)
	k := NewKeys(conn, time.Minute)
	a, err := k.Create(ctx, NewKeyRequest{Tenant: "acme", Role: RoleAdmin, Name: "ops"})
	require.NoError(t, err)
	_, err = k.Create(ctx, NewKeyRequest{Tenant: "globex", Role: RoleAdmin, Name: "theirs"})
	require.NoError(t, err)
	_, err = k.Check(ctx, "192.0.2.1", a) // cached as valid for a minute
	require.NoError(t, err)

	list, err := k.List(ctx, "acme")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, a[:9], list[0].Prefix)
	require.False(t, list[0].Revoked)

	_, err = k.Revoke(ctx, "globex", a[:9])
	require.ErrorIs(t, err, ErrNoKey, "another tenant's key")
	_, err = k.Revoke(ctx, "acme", a[:9])
	require.NoError(t, err)
	_, err = k.Check(ctx, "192.0.2.1", a)
	require.ErrorIs(t, err, ErrInvalidKey, "at once, despite the cache")
	list, err = k.List(ctx, "acme")
	require.NoError(t, err)
	require.True(t, list[0].Revoked)
	_, err = k.Revoke(ctx, "acme", a[:9])
	require.ErrorIs(t, err, ErrNoKey, "already revoked")
}
