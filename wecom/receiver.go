// Package wecom receives WeCom (企业微信) callbacks: it verifies their
// signature, refuses replays, decrypts them (the WXBizMsgCrypt scheme,
// crypto.go), parses the XML (message.go), maps each to one event of the
// contract (mapping.go, pure) and produces it to Kafka before WeCom is told
// "success". Each tenant's app settings (corp id, Token, EncodingAESKey, and
// for sign-in and the sidebar the app's agent id and Secret) are kept in
// ClickHouse (config.go). APIClient calls WeCom's server API for one app
// (api.go); Clients keeps one per tenant, and OAuthURL and QRLoginURL build
// the sign-in redirects (signin.go).
//
// A callback maps to an event whose id is a hash of the corp id and the
// decrypted message, so WeCom's retries of one callback are one event
// however often they arrive, and the rest of Siyu counts it once.
package wecom

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/publish"
)

// MaxBodyBytes bounds a callback body: WeCom's are a few KiB.
const MaxBodyBytes = 64 << 10

// Params are the query parameters WeCom signs a callback with.
type Params struct {
	MsgSignature string
	Timestamp    string
	Nonce        string
	EchoStr      string // URL verification (GET) only
}

// ReceiverConfig tunes a Receiver.
type ReceiverConfig struct {
	// Topic is the events topic.
	Topic string
	// MaxSkew is how far a callback's timestamp may be from now: older
	// callbacks are refused as replays. WeCom retries within seconds.
	MaxSkew time.Duration
	// ProduceTimeout bounds the wait for Kafka's ack. WeCom gives up after
	// 5 s and retries; answering an error first makes the retry prompt.
	ProduceTimeout time.Duration
	// CacheTTL is how long a tenant's settings are cached. A change through
	// this Receiver takes effect at once; one through another API replica
	// within CacheTTL.
	CacheTTL time.Duration
	// Now is the clock (time.Now when nil); tests set it to replay WeCom's
	// published vectors.
	Now func() time.Time
}

// DefaultReceiverConfig holds the defaults.
func DefaultReceiverConfig(topic string) ReceiverConfig {
	return ReceiverConfig{Topic: topic, MaxSkew: 5 * time.Minute, ProduceTimeout: 3 * time.Second, CacheTTL: 10 * time.Second}
}

// Validate checks the config.
func (c ReceiverConfig) Validate() error {
	switch {
	case c.Topic == "":
		return errors.New("wecom: the events topic is required")
	case c.MaxSkew <= 0:
		return errors.New("wecom: max skew must be positive")
	case c.ProduceTimeout <= 0 || c.ProduceTimeout >= 5*time.Second:
		return fmt.Errorf("wecom: produce timeout must be in (0, 5s), WeCom's limit; got %s", c.ProduceTimeout)
	case c.CacheTTL < 0:
		return errors.New("wecom: cache TTL must not be negative")
	}
	return nil
}

// Producer stores records in Kafka (*kgo.Client); the receiver waits for
// the acks until its ProduceTimeout (kafka.ProduceSync).
type Producer = kafka.Producer

// Receiver handles the callbacks of every tenant. It is safe for concurrent use.
type Receiver struct {
	cfg      ReceiverConfig
	now      func() time.Time
	configs  ConfigStore
	pub      *publish.Publisher
	metrics  *metrics
	log      *slog.Logger
	decoders sync.Pool

	mu    sync.RWMutex
	cache map[string]cachedApp
}

// app is a tenant's configured WeCom app.
type app struct {
	corpID  string
	crypter *Crypter
}

type cachedApp struct {
	app *app
	err error
	at  time.Time
}

// maxCached bounds the settings cache; unknown tenants are cached too, and
// anyone may name one.
const maxCached = 100_000

// NewReceiver returns a Receiver that reads settings from configs and
// produces to prod.
func NewReceiver(cfg ReceiverConfig, configs ConfigStore, prod Producer, reg prometheus.Registerer, log *slog.Logger) (*Receiver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Receiver{cfg: cfg, now: cfg.Now, configs: configs,
		pub: publish.New(prod, cfg.Topic, cfg.ProduceTimeout), metrics: newMetrics(reg),
		log: log, cache: map[string]cachedApp{}}
	if r.now == nil {
		r.now = time.Now
	}
	r.decoders.New = func() any { return event.NewDecoder(r.now) }
	return r, nil
}

// VerifyURL answers WeCom's URL verification (GET): it checks the signature
// over echostr, decrypts it and returns the plaintext to echo back.
func (r *Receiver) VerifyURL(ctx context.Context, tenant string, p Params) ([]byte, error) {
	// A "+" that WeCom sent unescaped reads as a space; base64 has none.
	echo := strings.ReplaceAll(p.EchoStr, " ", "+")
	if p.MsgSignature == "" || p.Timestamp == "" || p.Nonce == "" || echo == "" {
		return nil, r.refuse(ReasonParams, errors.New("msg_signature, timestamp, nonce and echostr are required"))
	}
	a, err := r.open(ctx, tenant, p, echo)
	if err != nil {
		return nil, err
	}
	plain, err := a.crypter.Decrypt(echo)
	if err != nil {
		return nil, r.refuseDecrypt(err)
	}
	r.metrics.callbacks.WithLabelValues(outcomeVerified).Inc()
	return plain, nil
}

// Receipt is what a stored callback became.
type Receipt struct {
	EventID string
	Type    event.Type
	Kind    string // the WeCom kind, e.g. change_external_contact/add_external_contact
}

// Receive handles a callback (POST): verify, decrypt, map, produce. When it
// returns nil the event is in Kafka and WeCom may be told "success".
func (r *Receiver) Receive(ctx context.Context, tenant string, p Params, body []byte) (Receipt, error) {
	if len(body) > MaxBodyBytes {
		return Receipt{}, r.refuse(ReasonTooLarge, fmt.Errorf("the body is %d bytes, over %d", len(body), MaxBodyBytes))
	}
	if p.MsgSignature == "" || p.Timestamp == "" || p.Nonce == "" {
		return Receipt{}, r.refuse(ReasonParams, errors.New("msg_signature, timestamp and nonce are required"))
	}
	env, err := ParseEnvelope(body)
	if err != nil {
		return Receipt{}, r.refuse(ReasonParams, err)
	}
	a, err := r.open(ctx, tenant, p, env.Encrypt)
	if err != nil {
		return Receipt{}, err
	}
	msg, err := a.crypter.Decrypt(env.Encrypt)
	if err != nil {
		return Receipt{}, r.refuseDecrypt(err)
	}
	ts, _ := strconv.ParseInt(p.Timestamp, 10, 64) // checked by open
	dec := r.decoders.Get().(*event.Decoder)
	out, value, err := Build(nil, msg, Origin{Tenant: tenant, CorpID: a.corpID, Received: time.Unix(ts, 0)}, dec)
	r.decoders.Put(dec)
	if err != nil {
		return Receipt{}, r.refuse(ReasonMessage, err)
	}
	if err := r.produce(ctx, &out.Event, value); err != nil {
		return Receipt{}, err
	}
	r.metrics.callbacks.WithLabelValues(outcomeAccepted).Inc()
	r.metrics.events.WithLabelValues(string(out.Event.Type)).Inc()
	return Receipt{EventID: out.Event.ID, Type: out.Event.Type, Kind: out.Kind}, nil
}

// open finds the tenant's app and authenticates the request: the signature
// first (so that a forgery is counted as one), then the timestamp.
func (r *Receiver) open(ctx context.Context, tenant string, p Params, encrypt string) (*app, error) {
	a, err := r.app(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if err := a.crypter.Verify(p.MsgSignature, p.Timestamp, p.Nonce, encrypt); err != nil {
		return nil, r.refuse(ReasonSignature, err)
	}
	ts, err := strconv.ParseInt(p.Timestamp, 10, 64)
	if err != nil {
		return nil, r.refuse(ReasonParams, errors.New("timestamp must be Unix seconds"))
	}
	if skew := r.now().Sub(time.Unix(ts, 0)); skew > r.cfg.MaxSkew || skew < -r.cfg.MaxSkew {
		return nil, r.refuse(ReasonStale, fmt.Errorf("timestamp is %s off, more than %s", skew.Round(time.Second), r.cfg.MaxSkew))
	}
	return a, nil
}

// produce stores ev (its value checked by Build) through the publisher,
// waiting for the ack at most ProduceTimeout.
func (r *Receiver) produce(ctx context.Context, ev *event.Event, value []byte) error {
	rec, err := r.pub.Record(ev.Key(), value)
	if err != nil {
		return err
	}
	if err := r.pub.Produce(ctx, rec).Err(); err != nil {
		r.metrics.callbacks.WithLabelValues(outcomeFailed).Inc()
		return fmt.Errorf("%w: produce to Kafka: %w", ErrUnavailable, err)
	}
	return nil
}

func (r *Receiver) refuse(reason Reason, err error) error {
	r.metrics.refused(reason)
	r.log.Debug("wecom callback refused", "reason", reason, "err", err)
	return refused(reason, err)
}

func (r *Receiver) refuseDecrypt(err error) error {
	if errors.Is(err, ErrReceiveID) {
		return r.refuse(ReasonReceiveID, err)
	}
	return r.refuse(ReasonDecrypt, err)
}

// app returns the tenant's app from the cache or the store. Unknown tenants
// are cached too; store failures are not.
func (r *Receiver) app(ctx context.Context, tenant string) (*app, error) {
	if !event.ValidTenant(tenant) {
		return nil, r.refuse(ReasonUnknownTenant, ErrNotConfigured)
	}
	now := r.now()
	r.mu.RLock()
	c, ok := r.cache[tenant]
	r.mu.RUnlock()
	if !ok || now.Sub(c.at) >= r.cfg.CacheTTL || now.Before(c.at) {
		var err error
		if c, err = r.load(ctx, tenant); err != nil {
			r.metrics.callbacks.WithLabelValues(outcomeFailed).Inc()
			return nil, err
		}
		c.at = now
		r.mu.Lock()
		if len(r.cache) >= maxCached {
			r.cache = map[string]cachedApp{}
		}
		r.cache[strings.Clone(tenant)] = c
		r.mu.Unlock()
	}
	if c.err != nil {
		return nil, r.refuse(ReasonUnknownTenant, c.err)
	}
	return c.app, nil
}

func (r *Receiver) load(ctx context.Context, tenant string) (cachedApp, error) {
	cfg, err := r.configs.Get(ctx, tenant)
	if errors.Is(err, ErrNotConfigured) {
		return cachedApp{err: ErrNotConfigured}, nil
	}
	if err != nil {
		return cachedApp{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	cr, err := NewCrypter(cfg.Token, cfg.EncodingAESKey, cfg.CorpID)
	if err != nil {
		// Put validates, so only a hand-edited row gets here.
		r.log.Error("stored WeCom settings are invalid", "tenant", tenant, "err", err)
		return cachedApp{err: ErrNotConfigured}, nil
	}
	return cachedApp{app: &app{corpID: cfg.CorpID, crypter: cr}}, nil
}

// Status is what may be shown of a tenant's settings: never the secrets.
type Status struct {
	CorpID            string
	TokenSet          bool
	EncodingAESKeySet bool
	AgentID           int64
	SecretSet         bool
	UpdatedAt         time.Time
}

// SaveConfig validates and stores a tenant's settings; callbacks through
// this Receiver use them at once. A zero AgentID or an empty Secret keeps
// the stored one of the same corp, so that a client that knows only the
// callback settings (or may not read the secret back) does not erase the
// app's; another corp's are dropped, as they cannot be its app's.
func (r *Receiver) SaveConfig(ctx context.Context, tenant string, c Config) (Status, error) {
	if !event.ValidTenant(tenant) {
		return Status{}, &ConfigError{Field: "tenant", Reason: "must match [a-z0-9][a-z0-9_-]{0,63}"}
	}
	if err := c.Validate(); err != nil {
		return Status{}, err
	}
	if c.AgentID == 0 || c.Secret == "" {
		old, err := r.configs.Get(ctx, tenant)
		if err != nil && !errors.Is(err, ErrNotConfigured) {
			return Status{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		if old.CorpID == c.CorpID {
			c.AgentID, c.Secret = cmp.Or(c.AgentID, old.AgentID), cmp.Or(c.Secret, old.Secret)
		}
	}
	c.UpdatedAt = r.now().UTC()
	if err := r.configs.Put(ctx, tenant, c); err != nil {
		return Status{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	r.mu.Lock()
	delete(r.cache, tenant)
	r.mu.Unlock()
	return status(c), nil
}

// ConfigStatus returns what may be shown of a tenant's settings, or
// ErrNotConfigured.
func (r *Receiver) ConfigStatus(ctx context.Context, tenant string) (Status, error) {
	c, err := r.configs.Get(ctx, tenant)
	if errors.Is(err, ErrNotConfigured) {
		return Status{}, err
	}
	if err != nil {
		return Status{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return status(c), nil
}

func status(c Config) Status {
	return Status{CorpID: c.CorpID, TokenSet: c.Token != "", EncodingAESKeySet: c.EncodingAESKey != "",
		AgentID: c.AgentID, SecretSet: c.Secret != "", UpdatedAt: c.UpdatedAt.Truncate(time.Second)}
}

// String keeps the secrets out of logs.
func (c Config) String() string {
	return fmt.Sprintf("wecom.Config{CorpID: %q, Token: <redacted>, EncodingAESKey: <redacted>, AgentID: %d, Secret: <redacted>}",
		c.CorpID, c.AgentID)
}

// GoString keeps the secrets out of %#v too.
func (c Config) GoString() string { return c.String() }
