package auth

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/siyu-dev/siyu/errkind"
	siyusql "github.com/siyu-dev/siyu/sql"
	"github.com/siyu-dev/siyu/store"
)

// KeyInfo describes a stored key, never its secret: Prefix is its first 9
// characters ("siyu_" and 4 more), enough to tell a tenant's keys apart.
type KeyInfo struct {
	Prefix    string    `json:"prefix"`
	Role      Role      `json:"role"`
	StaffID   string    `json:"staff_id,omitempty"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	Revoked   bool      `json:"revoked"`
	hash      string
}

// ErrNoKey is a prefix no key of the tenant has.
var ErrNoKey error = &errkind.Error{Kind: errkind.NotFound, Msg: "no such key",
	Public: "no API key of this tenant has this prefix: list them with GET /v1/keys"}

// ErrAmbiguousKey is a prefix several live keys of the tenant share.
var ErrAmbiguousKey error = &errkind.Error{Kind: errkind.Conflict, Msg: "ambiguous key prefix",
	Public: "several live API keys of this tenant share this prefix: ask the operator to revoke the one meant"}

var qKeyList = siyusql.Query("key_list")

// List returns the keys of tenant, revoked ones included, oldest first.
func (k *Keys) List(ctx context.Context, tenant string) ([]KeyInfo, error) {
	rows, err := k.conn.Query(ctx, qKeyList, clickhouse.Named("tenant", tenant))
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	var out []KeyInfo
	for rows.Next() {
		var ki KeyInfo
		var role string
		var revoked uint8
		if err := rows.Scan(&ki.hash, &ki.Prefix, &role, &ki.StaffID, &ki.Name, &ki.CreatedAt, &revoked); err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		ki.Role, ki.Revoked, ki.CreatedAt = Role(role), revoked != 0, ki.CreatedAt.UTC()
		out = append(out, ki)
	}
	return out, rows.Err()
}

// Revoke revokes the live key of tenant whose prefix is prefix: ErrNoKey
// when there is none, ErrAmbiguousKey when several share it. It takes
// effect at once on this process, and on others within their cache ttl.
func (k *Keys) Revoke(ctx context.Context, tenant, prefix string) (KeyInfo, error) {
	keys, err := k.List(ctx, tenant)
	if err != nil {
		return KeyInfo{}, err
	}
	var match []KeyInfo
	for _, ki := range keys {
		if ki.Prefix == prefix && !ki.Revoked && strings.HasPrefix(prefix, keyPrefix) {
			match = append(match, ki)
		}
	}
	switch len(match) {
	case 0:
		return KeyInfo{}, ErrNoKey
	case 1:
	default:
		return KeyInfo{}, ErrAmbiguousKey
	}
	ki := match[0]
	// The table keeps the row with the latest updated_at (whole seconds):
	// the revocation must be later than the creation.
	at := time.Now().UTC().Truncate(time.Second)
	if !at.After(ki.CreatedAt) {
		at = ki.CreatedAt.Add(time.Second)
	}
	err = store.Insert(ctx, k.conn,
		"INSERT INTO api_keys (key_hash, key_prefix, tenant, role, staff_id, name, revoked, created_at, updated_at)",
		[]any{ki.hash, ki.Prefix, tenant, string(ki.Role), ki.StaffID, ki.Name, uint8(1), ki.CreatedAt, at})
	if err != nil {
		return KeyInfo{}, fmt.Errorf("revoke key: %w", err)
	}
	var sum keySum
	if b, err := hex.DecodeString(ki.hash); err == nil && len(b) == len(sum) {
		copy(sum[:], b)
		k.cache.putInvalid(sum, k.now())
	}
	ki.Revoked = true
	return ki, nil
}
