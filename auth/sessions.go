package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	siyusql "github.com/siyu-dev/siyu/sql"
	"github.com/siyu-dev/siyu/store"
)

// sessionPrefix marks console session tokens ("siyus_" + 32 random bytes
// in unpadded base64url: 49 characters), apart from API keys ("siyu_").
const sessionPrefix = "siyus_"

var sessionTokenLen = len(sessionPrefix) + base64.RawURLEncoding.EncodedLen(32)

// sessionEntry is a checked session in the cache: valid (p, info) or void.
type sessionEntry struct {
	p    Principal
	info SessionInfo
	void bool
	at   time.Time // when it was checked
}

var qSessionGet = siyusql.Query("console_session_get")

// open stores a new session of r, created at now.
func (u *Users) open(ctx context.Context, r userRow, now time.Time) (Session, error) {
	token, err := randomToken(32)
	if err != nil {
		return Session{}, err
	}
	csrf, err := randomToken(24)
	if err != nil {
		return Session{}, err
	}
	token = sessionPrefix + token
	expires := now.Add(u.ttl)
	err = store.Insert(ctx, u.conn,
		"INSERT INTO console_sessions (sid_hash, login, tenant, csrf, created_ms, expires_ms, revoked, version)",
		[]any{Hash(token), r.Login, r.Tenant, csrf, uint64(now.UnixMilli()), uint64(expires.UnixMilli()), uint8(0), uint64(1)})
	if err != nil {
		return Session{}, fmt.Errorf("store session: %w", err)
	}
	return Session{Token: token, CSRF: csrf, Login: r.Login, Tenant: r.Tenant,
		Expires: time.UnixMilli(expires.UnixMilli()).UTC(), User: r.User}, nil
}

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func wellFormedSession(token string) bool {
	return len(token) == sessionTokenLen && strings.HasPrefix(token, sessionPrefix)
}

// Session returns who holds the session token, or ErrNoSession: the token
// must be known, not signed out, not expired, created after the user's
// last sign-out-everywhere (to the millisecond: one created in the same
// millisecond is void), and its user must exist and be enabled. The
// principal is read from the user as it is now (a role change applies to
// open sessions).
//
// Answers, void ones too, are cached for SessionCacheTTL: SignOut,
// SignOutEverywhere and Update take effect at once on this replica, and on
// other replicas within SessionCacheTTL.
func (u *Users) Session(ctx context.Context, token string) (Principal, SessionInfo, error) {
	if !wellFormedSession(token) {
		return Principal{}, SessionInfo{}, ErrNoSession
	}
	sum := sha256.Sum256([]byte(token))
	now := u.now()
	if e, ok := u.cached(sum, now); ok {
		if e.void || !now.Before(e.info.Expires) {
			return Principal{}, SessionInfo{}, ErrNoSession
		}
		return e.p, e.info, nil
	}
	p, info, err := u.check(ctx, hex.EncodeToString(sum[:]), now)
	switch {
	case errors.Is(err, ErrNoSession):
		u.remember(sum, sessionEntry{void: true, at: now})
	case err == nil:
		u.remember(sum, sessionEntry{p: p, info: info, at: now})
	}
	return p, info, err
}

// check reads a session and its user from ClickHouse.
func (u *Users) check(ctx context.Context, hash string, now time.Time) (Principal, SessionInfo, error) {
	var login, tenant, csrf string
	var created, expires uint64
	var revoked uint8
	err := u.conn.QueryRow(ctx, qSessionGet, clickhouse.Named("sid_hash", hash)).
		Scan(&login, &tenant, &csrf, &created, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, SessionInfo{}, ErrNoSession
	}
	if err != nil {
		return Principal{}, SessionInfo{}, fmt.Errorf("get session: %w", err)
	}
	if revoked != 0 || uint64(now.UnixMilli()) >= expires {
		return Principal{}, SessionInfo{}, ErrNoSession
	}
	r, err := u.get(ctx, login)
	if errors.Is(err, ErrNoUser) {
		return Principal{}, SessionInfo{}, ErrNoSession
	}
	if err != nil {
		return Principal{}, SessionInfo{}, err
	}
	if r.Disabled || r.Tenant != tenant || created <= r.sessionsAfter {
		return Principal{}, SessionInfo{}, ErrNoSession
	}
	p := Principal{Tenant: r.Tenant, Role: r.Role, StaffID: r.StaffID, Name: r.Name, Login: r.Login}
	info := SessionInfo{Login: r.Login, Tenant: r.Tenant, CSRF: csrf,
		Created: time.UnixMilli(int64(created)).UTC(), Expires: time.UnixMilli(int64(expires)).UTC()}
	return p, info, nil
}

func (u *Users) cached(sum keySum, now time.Time) (sessionEntry, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	e, ok := u.cache.get(sum)
	if !ok || now.Sub(e.at) >= SessionCacheTTL || now.Before(e.at) {
		return sessionEntry{}, false
	}
	return e, true
}

func (u *Users) remember(sum keySum, e sessionEntry) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.cache.put(sum, e)
}

// forgetLogin drops the cached sessions of login (void ones are dropped
// too: they may be a sign-in that a re-enabled user can use again).
func (u *Users) forgetLogin(login string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.cache.removeIf(func(_ keySum, e sessionEntry) bool { return e.void || e.info.Login == login })
}

// SignOut ends the session of token (nothing happens for an unknown one).
func (u *Users) SignOut(ctx context.Context, token string) error {
	if !wellFormedSession(token) {
		return nil
	}
	sum := sha256.Sum256([]byte(token))
	err := store.Insert(ctx, u.conn,
		"INSERT INTO console_sessions (sid_hash, login, tenant, csrf, created_ms, expires_ms, revoked, version)",
		[]any{hex.EncodeToString(sum[:]), "", "", "", uint64(0), uint64(0), uint8(1), uint64(2)})
	if err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	u.remember(sum, sessionEntry{void: true, at: u.now()})
	return nil
}

// SignOutEverywhere ends every session of login (ErrNoUser if none): the
// sessions created up to now (to the millisecond) are void.
func (u *Users) SignOutEverywhere(ctx context.Context, login string) error {
	r, err := u.get(ctx, login)
	if err != nil {
		return err
	}
	now := u.now()
	r.sessionsAfter = max(r.sessionsAfter, uint64(now.UnixMilli()))
	return u.save(ctx, r, now)
}
