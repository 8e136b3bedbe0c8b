// Package auth holds API keys, console users and their sessions, and roles.
// A key is a random secret shown once at creation; only its SHA-256 hash is
// stored. A console user signs in with a password (an argon2id hash is
// stored) or through WeCom and holds a session token, likewise stored as
// its hash (users.go, sessions.go). Every request is scoped to the tenant
// of its key or user, and the role decides what it may do.
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
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/errkind"
	"github.com/siyu-dev/siyu/event"
	siyusql "github.com/siyu-dev/siyu/sql"
	"github.com/siyu-dev/siyu/store"
)

// Role is what a key may do.
type Role string

// The roles.
const (
	RoleAdmin    Role = "admin"    // everything in the tenant
	RoleManager  Role = "manager"  // the team's customers and follow-ups
	RoleRep      Role = "rep"      // a sales rep: only their own customers (needs a staff id)
	RoleMarketer Role = "marketer" // profiles, tags, segments
	RoleExec     Role = "exec"     // adoption metrics
	RoleBilling  Role = "billing"  // meters and usage
	RolePlatform Role = "platform" // the operator, across tenants
)

// Roles lists every role.
func Roles() []Role {
	return []Role{RoleAdmin, RoleManager, RoleRep, RoleMarketer, RoleExec, RoleBilling, RolePlatform}
}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	names := make([]string, 0, 7)
	for _, r := range Roles() {
		names = append(names, string(r))
	}
	return "", fmt.Errorf("unknown role %q: use one of %s", s, strings.Join(names, ", "))
}

// Principal is who is calling: the tenant, role and staff id of a key or
// of a console user; Name is the key's label or the user's name, and Login
// the console user's login ("" for a key).
type Principal struct {
	Tenant  string
	Role    Role
	StaffID string
	Name    string
	Login   string
}

// Is reports whether the principal has one of roles.
func (p Principal) Is(roles ...Role) bool {
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

// ErrInvalidKey means the key is unknown, malformed or revoked.
var ErrInvalidKey error = &errkind.Error{Kind: errkind.Unauthorized, Msg: "invalid API key",
	Public: "the API key is invalid or revoked: create one with `siyu keys create`"}

// keyPrefix marks Siyu keys, so that leaked ones are easy to find.
const keyPrefix = "siyu_"

// NewKeyRequest describes a key to create.
type NewKeyRequest struct {
	Tenant  string
	Role    Role
	StaffID string
	Name    string
}

// Validate checks the request.
func (r NewKeyRequest) Validate() error {
	if !event.ValidTenant(r.Tenant) {
		return fmt.Errorf("tenant %q must match [a-z0-9][a-z0-9_-]{0,63}", r.Tenant)
	}
	if _, err := ParseRole(string(r.Role)); err != nil {
		return err
	}
	if r.Role == RoleRep && r.StaffID == "" {
		return errors.New("a rep key needs a staff id (--staff-id)")
	}
	return nil
}

// Keys stores and checks API keys in ClickHouse, caching lookups briefly in
// bounded caches and limiting the failed checks of each client (see Check).
type Keys struct {
	conn    driver.Conn
	cache   *keyCache
	limiter *failureLimiter[clientKey]
	metrics *keyMetrics
	// now and query are the clock and the ClickHouse lookup; tests replace them.
	now   func() time.Time
	query func(ctx context.Context, hash string) (Principal, error)
}

// NewKeys returns a key store; lookups are cached for ttl (revocation takes
// effect within it; 0 caches nothing). The options bound its caches and
// failure limit and register its metrics.
func NewKeys(conn driver.Conn, ttl time.Duration, opts ...Option) *Keys {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	k := &Keys{
		conn:    conn,
		cache:   newKeyCache(ttl, o.validKeys, o.invalidKeys),
		limiter: newFailureLimiter[clientKey](o.burst, o.rate, o.clients),
		metrics: newKeyMetrics(o.reg),
		now:     time.Now,
	}
	k.query = k.lookup
	return k
}

// Create makes a new key and returns the secret, which is never stored.
func (k *Keys) Create(ctx context.Context, r NewKeyRequest) (string, error) {
	if err := r.Validate(); err != nil {
		return "", err
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	secret := keyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	if err := k.Store(ctx, secret, r); err != nil {
		return "", err
	}
	return secret, nil
}

// Store saves a given secret as a key (the demo tenant uses a fixed one).
func (k *Keys) Store(ctx context.Context, secret string, r NewKeyRequest) error {
	now := time.Now().UTC().Truncate(time.Second)
	err := store.Insert(ctx, k.conn,
		"INSERT INTO api_keys (key_hash, key_prefix, tenant, role, staff_id, name, revoked, created_at, updated_at)",
		[]any{Hash(secret), secret[:min(len(secret), 9)], r.Tenant, string(r.Role), r.StaffID, r.Name, uint8(0), now, now})
	if err != nil {
		return fmt.Errorf("store key: %w", err)
	}
	k.cache.forget(sha256.Sum256([]byte(secret))) // no longer refused, if it was tried before
	return nil
}

// Hash is the stored form of a key.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

var qLookup = siyusql.Query("key_lookup")

// Lookup returns the principal of a key, or ErrInvalidKey. It does not
// limit failures: requests from clients go through Check.
func (k *Keys) Lookup(ctx context.Context, secret string) (Principal, error) {
	if !wellFormed(secret) {
		return Principal{}, ErrInvalidKey
	}
	sum := sha256.Sum256([]byte(secret))
	now := k.now()
	switch p, _, state := k.cache.get(sum, now); state {
	case cacheValid:
		return p, nil
	case cacheInvalid:
		return Principal{}, ErrInvalidKey
	}
	p, _, err := k.fetch(ctx, sum, now)
	return p, err
}

// wellFormed reports whether secret may be a Siyu key, worth a lookup.
func wellFormed(secret string) bool {
	return strings.HasPrefix(secret, keyPrefix) && len(secret) <= 128
}

// fetch looks a key up in ClickHouse and caches the answer, unless
// ClickHouse did not give one (outages are not cached). A refused key comes
// with the reason (reasonUnknown or reasonRevoked).
func (k *Keys) fetch(ctx context.Context, sum keySum, now time.Time) (Principal, string, error) {
	p, err := k.query(ctx, hex.EncodeToString(sum[:]))
	switch {
	case err == nil:
		k.metrics.lookups.WithLabelValues(lookupValid).Inc()
		k.cache.putValid(sum, p, now)
		return p, "", nil
	case errors.Is(err, ErrInvalidKey):
		k.metrics.lookups.WithLabelValues(lookupUnknown).Inc()
		return Principal{}, k.cache.putInvalid(sum, now), err
	default:
		k.metrics.lookups.WithLabelValues(lookupError).Inc()
		return Principal{}, "", err
	}
}

func (k *Keys) lookup(ctx context.Context, hash string) (Principal, error) {
	var p Principal
	var role string
	err := k.conn.QueryRow(ctx, qLookup, clickhouse.Named("key_hash", hash)).Scan(&p.Tenant, &role, &p.StaffID, &p.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, ErrInvalidKey
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up key: %w", err)
	}
	p.Role = Role(role)
	return p, nil
}
