package wecom

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/siyu-dev/siyu/errkind"
	siyusql "github.com/siyu-dev/siyu/sql"
	"github.com/siyu-dev/siyu/store"
)

// Config is a tenant's WeCom settings, as the WeCom admin console shows
// them for the self-built app whose callback URL points at Siyu: the
// callback's Token and EncodingAESKey, and the app's AgentID and Secret,
// which sign members in (OAuth, QR login) and sign the sidebar's JS-SDK
// (Clients). Token, EncodingAESKey and Secret are secrets.
type Config struct {
	CorpID         string
	Token          string
	EncodingAESKey string
	// AgentID and Secret are optional: without them the callbacks work,
	// sign-in and the sidebar do not (ErrAppNotConfigured).
	AgentID   int64
	Secret    string
	UpdatedAt time.Time
}

// ConfigError says which setting is wrong, and why.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Reason }

// Describe is a validation error of Field.
func (e *ConfigError) Describe() errkind.Error {
	return errkind.Error{Kind: errkind.Validation, Msg: e.Error(), Field: e.Field, Public: e.Reason}
}

// ErrNotConfigured means the tenant has no WeCom callback settings (or does
// not exist: the two are not told apart).
var ErrNotConfigured = errors.New("no WeCom callback settings for this tenant")

// Validate checks the settings as WeCom issues them.
func (c Config) Validate() error {
	switch {
	case !idChars(c.CorpID, 1, 64):
		return &ConfigError{Field: "corp_id", Reason: "must be 1–64 letters, digits, _ or - (the corp id, e.g. ww1436e0e65a779aee)"}
	case !alnum(c.Token, 1, 128):
		return &ConfigError{Field: "token", Reason: "must be 1–128 letters or digits (the app's callback Token)"}
	}
	if _, err := aesKey(c.EncodingAESKey); err != nil {
		return &ConfigError{Field: "encoding_aes_key", Reason: err.Error()}
	}
	switch {
	case c.AgentID < 0 || c.AgentID > maxAgentID:
		return &ConfigError{Field: "agent_id", Reason: "must be the app's AgentId, a positive number (e.g. 1000002)"}
	case c.Secret != "" && !idChars(c.Secret, 1, 128):
		return &ConfigError{Field: "secret", Reason: "must be 1–128 letters, digits, _ or - (the app's Secret)"}
	}
	return nil
}

// maxAgentID bounds an AgentId: WeCom's are 32-bit (1000002 and up for
// self-built apps).
const maxAgentID = 1<<31 - 1

// AppConfigured reports whether the app's settings for sign-in and the
// JS-SDK are set.
func (c Config) AppConfigured() bool { return c.CorpID != "" && c.AgentID > 0 && c.Secret != "" }

func idChars(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func alnum(s string, minLen, maxLen int) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '_' || s[i] == '-' {
			return false
		}
	}
	return idChars(s, minLen, maxLen)
}

// ConfigStore keeps the settings of each tenant.
type ConfigStore interface {
	// Get returns the tenant's settings, or ErrNotConfigured.
	Get(ctx context.Context, tenant string) (Config, error)
	// Put replaces the tenant's settings.
	Put(ctx context.Context, tenant string, c Config) error
}

// Configs is the ConfigStore in ClickHouse (table wecom_config, sql/0004 and 0034).
// A change writes a newer row; reads take the latest with FINAL.
type Configs struct {
	conn driver.Conn
}

// NewConfigs returns the settings store over conn.
func NewConfigs(conn driver.Conn) *Configs { return &Configs{conn: conn} }

var qConfigGet = siyusql.Query("wecom_config_get")

// Get implements ConfigStore.
func (s *Configs) Get(ctx context.Context, tenant string) (Config, error) {
	var c Config
	err := s.conn.QueryRow(ctx, qConfigGet, clickhouse.Named("tenant", tenant)).
		Scan(&c.CorpID, &c.Token, &c.EncodingAESKey, &c.AgentID, &c.Secret, &c.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Config{}, ErrNotConfigured
	}
	if err != nil {
		return Config{}, fmt.Errorf("read wecom config: %w", err)
	}
	c.UpdatedAt = c.UpdatedAt.UTC()
	return c, nil
}

// Put implements ConfigStore. The version is the write time in nanoseconds,
// so that of two writes in the same second the later one wins.
func (s *Configs) Put(ctx context.Context, tenant string, c Config) error {
	err := store.Insert(ctx, s.conn,
		"INSERT INTO wecom_config (tenant, corp_id, token, encoding_aes_key, agent_id, secret, updated_at, version)",
		[]any{tenant, c.CorpID, c.Token, c.EncodingAESKey, c.AgentID, c.Secret,
			c.UpdatedAt.UTC().Truncate(time.Second), uint64(c.UpdatedAt.UnixNano())})
	if err != nil {
		return fmt.Errorf("store wecom config: %w", err)
	}
	return nil
}
