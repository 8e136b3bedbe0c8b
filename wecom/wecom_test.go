package wecom_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/wecom"
)

// vectors are WeCom's published test vectors (shared/wecom).
type vectors struct {
	Token          string `json:"token"`
	EncodingAESKey string `json:"encoding_aes_key"`
	ReceiveID      string `json:"receive_id"`
	VerifyURL      struct {
		MsgSignature string `json:"msg_signature"`
		Timestamp    string `json:"timestamp"`
		Nonce        string `json:"nonce"`
		EchoStr      string `json:"echostr"`
		Plaintext    string `json:"plaintext"`
	} `json:"verify_url"`
	DecryptMsg struct {
		MsgSignature string `json:"msg_signature"`
		Timestamp    string `json:"timestamp"`
		Nonce        string `json:"nonce"`
		Encrypt      string `json:"encrypt"`
		Plaintext    string `json:"plaintext"`
	} `json:"decrypt_msg"`
}

const vectorsPath = "../../shared/wecom/callback-vectors.json"

func loadVectors(t testing.TB) vectors {
	t.Helper()
	b, err := os.ReadFile(vectorsPath)
	require.NoError(t, err, "WeCom's vectors are in shared/wecom, next to this repository")
	var v vectors
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

// unixTime parses a vector's timestamp.
func unixTime(t testing.TB, s string) time.Time {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return time.Unix(n, 0)
}

// memConfigs is a ConfigStore in memory.
type memConfigs struct {
	mu   sync.Mutex
	m    map[string]wecom.Config
	gets int
	err  error // returned by Get when set
}

func newMemConfigs() *memConfigs { return &memConfigs{m: map[string]wecom.Config{}} }

func (s *memConfigs) Get(_ context.Context, tenant string) (wecom.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gets++
	if s.err != nil {
		return wecom.Config{}, s.err
	}
	c, ok := s.m[tenant]
	if !ok {
		return wecom.Config{}, wecom.ErrNotConfigured
	}
	return c, nil
}

func (s *memConfigs) Put(_ context.Context, tenant string, c wecom.Config) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[tenant] = c
	return nil
}

// recorder is a Producer that keeps what it is given, or fails with err.
type recorder struct {
	mu      sync.Mutex
	records []*kgo.Record
	err     error
}

func (p *recorder) Produce(_ context.Context, r *kgo.Record, promise func(*kgo.Record, error)) {
	p.mu.Lock()
	err := p.err
	if err == nil {
		p.records = append(p.records, r)
	}
	p.mu.Unlock()
	promise(r, err)
}

func (p *recorder) values() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, len(p.records))
	for i, r := range p.records {
		out[i] = string(r.Value)
	}
	return out
}

// testApp is a tenant's WeCom app as the tests' WeCom sees it.
type testApp struct {
	tenant  string
	cfg     wecom.Config
	crypter *wecom.Crypter
}

const testAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

func newTestApp(t testing.TB, tenant, corpID string) testApp {
	t.Helper()
	cfg := wecom.Config{CorpID: corpID, Token: "T0ken" + tenant, EncodingAESKey: testAESKey}
	cr, err := wecom.NewCrypter(cfg.Token, cfg.EncodingAESKey, corpID)
	require.NoError(t, err)
	return testApp{tenant: tenant, cfg: cfg, crypter: cr}
}

// seal encrypts msg as WeCom would send it at ts with nonce: the query
// parameters and the POST body.
func (a testApp) seal(t testing.TB, msg string, ts time.Time, nonce string) (wecom.Params, []byte) {
	t.Helper()
	enc, err := a.crypter.Encrypt(nil, []byte(msg))
	require.NoError(t, err)
	stamp := strconv.FormatInt(ts.Unix(), 10)
	p := wecom.Params{MsgSignature: a.crypter.Sign(stamp, nonce, enc), Timestamp: stamp, Nonce: nonce}
	body := fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[%s]]></Encrypt></xml>", a.cfg.CorpID, enc)
	return p, []byte(body)
}

// receiverAt returns a Receiver whose clock reads now, over configs and prod.
func receiverAt(t testing.TB, now time.Time, configs wecom.ConfigStore, prod wecom.Producer) (*wecom.Receiver, *prometheus.Registry) {
	t.Helper()
	cfg := wecom.DefaultReceiverConfig("siyu.events")
	cfg.Now = func() time.Time { return now }
	reg := prometheus.NewRegistry()
	r, err := wecom.NewReceiver(cfg, configs, prod, reg, testenv.Logger())
	require.NoError(t, err)
	return r, reg
}

// refusal returns the reason of a refused callback, or fails.
func refusal(t testing.TB, err error) wecom.Reason {
	t.Helper()
	re, ok := wecom.AsRefused(err)
	require.True(t, ok, "want a refusal, got %v", err)
	return re.Reason
}

var errKafkaDown = errors.New("kafka is down")
