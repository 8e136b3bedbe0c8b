package wecom_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/wecom"
)

var (
	receiverNow = time.Unix(1763683500, 0) // five minutes after createTime
	addS1       = callbackXML(`<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>` +
		`<UserID><![CDATA[s1]]></UserID><ExternalUserID><![CDATA[wmc1]]></ExternalUserID><State><![CDATA[fair]]></State>`)
)

func TestReceive(t *testing.T) {
	acme := newTestApp(t, "acme", "wwacme")
	configs := newMemConfigs()
	configs.m["acme"] = acme.cfg
	globex := newTestApp(t, "globex", "wwglobex") // same key as acme, another corp and token
	ctx := context.Background()

	type request struct {
		tenant string
		params wecom.Params
		body   []byte
	}
	genuine := func() request {
		p, body := acme.seal(t, addS1, receiverNow.Add(-time.Second), "n1")
		return request{tenant: "acme", params: p, body: body}
	}
	tests := []struct {
		name       string
		req        func() request
		wantReason wecom.Reason // "" = accepted
	}{
		{name: "genuine", req: genuine},
		{name: "timestamp 4m59s behind", req: func() request {
			p, body := acme.seal(t, addS1, receiverNow.Add(-299*time.Second), "n1")
			return request{tenant: "acme", params: p, body: body}
		}},
		{name: "timestamp 4m59s ahead", req: func() request {
			p, body := acme.seal(t, addS1, receiverNow.Add(299*time.Second), "n1")
			return request{tenant: "acme", params: p, body: body}
		}},
		{name: "timestamp 5m01s behind: a replay", wantReason: wecom.ReasonStale, req: func() request {
			p, body := acme.seal(t, addS1, receiverNow.Add(-301*time.Second), "n1")
			return request{tenant: "acme", params: p, body: body}
		}},
		{name: "timestamp 5m01s ahead", wantReason: wecom.ReasonStale, req: func() request {
			p, body := acme.seal(t, addS1, receiverNow.Add(301*time.Second), "n1")
			return request{tenant: "acme", params: p, body: body}
		}},
		{name: "timestamp not a number", wantReason: wecom.ReasonParams, req: func() request {
			r := genuine()
			r.params.Timestamp = "yesterday"
			r.params.MsgSignature = acme.crypter.Sign("yesterday", r.params.Nonce, envelopeEncrypt(t, r.body))
			return r
		}},
		{name: "bad signature", wantReason: wecom.ReasonSignature, req: func() request {
			r := genuine()
			r.params.MsgSignature = strings.Repeat("0", 40)
			return r
		}},
		{name: "signed for another timestamp", wantReason: wecom.ReasonSignature, req: func() request {
			r := genuine()
			r.params.Timestamp = strconv.FormatInt(receiverNow.Unix(), 10)
			return r
		}},
		{name: "signed with another token", wantReason: wecom.ReasonSignature, req: func() request {
			p, body := globex.seal(t, addS1, receiverNow, "n1")
			return request{tenant: "acme", params: p, body: body}
		}},
		{name: "encrypted for another corp, signed with our token", wantReason: wecom.ReasonReceiveID, req: func() request {
			_, body := globex.seal(t, addS1, receiverNow, "n1")
			stamp := strconv.FormatInt(receiverNow.Unix(), 10)
			return request{tenant: "acme", body: body, params: wecom.Params{
				MsgSignature: acme.crypter.Sign(stamp, "n1", envelopeEncrypt(t, body)), Timestamp: stamp, Nonce: "n1"}}
		}},
		{name: "signed garbage", wantReason: wecom.ReasonDecrypt, req: func() request {
			stamp := strconv.FormatInt(receiverNow.Unix(), 10)
			return request{tenant: "acme", body: []byte("<xml><Encrypt>AAAA</Encrypt></xml>"), params: wecom.Params{
				MsgSignature: acme.crypter.Sign(stamp, "n1", "AAAA"), Timestamp: stamp, Nonce: "n1"}}
		}},
		{name: "signed and encrypted, not XML", wantReason: wecom.ReasonMessage, req: func() request {
			p, body := acme.seal(t, "hello", receiverNow, "n1")
			return request{tenant: "acme", params: p, body: body}
		}},
		{name: "unknown tenant", wantReason: wecom.ReasonUnknownTenant, req: func() request {
			r := genuine()
			r.tenant = "initech"
			return r
		}},
		{name: "malformed tenant", wantReason: wecom.ReasonUnknownTenant, req: func() request {
			r := genuine()
			r.tenant = "../acme"
			return r
		}},
		{name: "no signature", wantReason: wecom.ReasonParams, req: func() request {
			r := genuine()
			r.params.MsgSignature = ""
			return r
		}},
		{name: "no nonce", wantReason: wecom.ReasonParams, req: func() request {
			r := genuine()
			r.params.Nonce = ""
			return r
		}},
		{name: "body not the envelope", wantReason: wecom.ReasonParams, req: func() request {
			r := genuine()
			r.body = []byte(`{"Encrypt": "x"}`)
			return r
		}},
		{name: "envelope without Encrypt", wantReason: wecom.ReasonParams, req: func() request {
			r := genuine()
			r.body = []byte(`<xml><ToUserName>wwacme</ToUserName></xml>`)
			return r
		}},
		{name: "body over 64 KiB", wantReason: wecom.ReasonTooLarge, req: func() request {
			r := genuine()
			r.body = append(r.body, bytes.Repeat([]byte(" "), wecom.MaxBodyBytes)...)
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prod := &recorder{}
			r, reg := receiverAt(t, receiverNow, configs, prod)
			req := tt.req()
			rc, err := r.Receive(ctx, req.tenant, req.params, req.body)
			if tt.wantReason != "" {
				require.Equal(t, tt.wantReason, refusal(t, err), "%v", err)
				require.Empty(t, prod.values(), "nothing produced")
				require.EqualValues(t, 1, testenv.Counter(t, reg, "siyu_wecom_refused_total", "reason", string(tt.wantReason)))
				require.EqualValues(t, 1, testenv.Counter(t, reg, "siyu_wecom_callbacks_total", "outcome", "refused"))
				return
			}
			require.NoError(t, err)
			require.Equal(t, event.ContactAdded, rc.Type)
			require.Equal(t, "change_external_contact/add_external_contact", rc.Kind)
			require.Equal(t, wecom.EventID("wwacme", []byte(addS1)), rc.EventID)
			require.Len(t, prod.records, 1)
			require.Equal(t, "acme/wmc1", string(prod.records[0].Key))
			require.Equal(t, "siyu.events", prod.records[0].Topic)
			require.EqualValues(t, 1, testenv.Counter(t, reg, "siyu_wecom_callbacks_total", "outcome", "accepted"))
			require.EqualValues(t, 1, testenv.Counter(t, reg, "siyu_wecom_events_total", "type", "contact.added"))
		})
	}
}

// envelopeEncrypt returns the Encrypt element of a sealed body.
func envelopeEncrypt(t *testing.T, body []byte) string {
	t.Helper()
	env, err := wecom.ParseEnvelope(body)
	require.NoError(t, err)
	return env.Encrypt
}

func TestReceiveIdempotent(t *testing.T) {
	acme := newTestApp(t, "acme", "wwacme")
	configs := newMemConfigs()
	configs.m["acme"] = acme.cfg
	prod := &recorder{}
	r, _ := receiverAt(t, receiverNow, configs, prod)
	ctx := context.Background()
	addS2 := strings.Replace(addS1, "<![CDATA[s1]]>", "<![CDATA[s2]]>", 1)

	var ids []string
	for i, msg := range []string{addS1, addS1, addS1, addS2} {
		// WeCom's retries: the same message, a new random prefix, nonce and timestamp.
		p, body := acme.seal(t, msg, receiverNow.Add(time.Duration(-i)*time.Second), "nonce"+strconv.Itoa(i))
		rc, err := r.Receive(ctx, "acme", p, body)
		require.NoError(t, err)
		ids = append(ids, rc.EventID)
	}
	require.Equal(t, ids[0], ids[1])
	require.Equal(t, ids[0], ids[2])
	require.NotEqual(t, ids[0], ids[3], "a second rep adding the same customer is a new event")
	values := prod.values()
	require.Equal(t, values[0], values[1], "a retry produces the same bytes")
	require.Equal(t, values[0], values[2])
}

func TestReceiveKafkaDown(t *testing.T) {
	acme := newTestApp(t, "acme", "wwacme")
	configs := newMemConfigs()
	configs.m["acme"] = acme.cfg
	prod := &recorder{err: errKafkaDown}
	r, reg := receiverAt(t, receiverNow, configs, prod)
	p, body := acme.seal(t, addS1, receiverNow, "n")
	_, err := r.Receive(context.Background(), "acme", p, body)
	require.ErrorIs(t, err, wecom.ErrUnavailable)
	require.ErrorIs(t, err, errKafkaDown)
	_, isRefusal := wecom.AsRefused(err)
	require.False(t, isRefusal, "WeCom must retry")
	require.EqualValues(t, 1, testenv.Counter(t, reg, "siyu_wecom_callbacks_total", "outcome", "failed"))

	prod.err = nil
	_, err = r.Receive(context.Background(), "acme", p, body)
	require.NoError(t, err, "WeCom's retry goes through")
}

func TestReceiveConfigCache(t *testing.T) {
	acme := newTestApp(t, "acme", "wwacme")
	configs := newMemConfigs()
	now := receiverNow
	cfg := wecom.DefaultReceiverConfig("siyu.events")
	cfg.Now = func() time.Time { return now }
	r, err := wecom.NewReceiver(cfg, configs, &recorder{}, nil, testenv.Logger())
	require.NoError(t, err)
	ctx := context.Background()
	receive := func() error {
		p, body := acme.seal(t, addS1, now, "n")
		_, err := r.Receive(ctx, "acme", p, body)
		return err
	}

	require.Equal(t, wecom.ReasonUnknownTenant, refusal(t, receive()))
	require.Equal(t, wecom.ReasonUnknownTenant, refusal(t, receive()))
	require.Equal(t, 1, configs.gets, "an unknown tenant is cached too")

	_, err = r.SaveConfig(ctx, "acme", acme.cfg)
	require.NoError(t, err)
	require.NoError(t, receive(), "saving takes effect at once")
	require.NoError(t, receive())
	require.Equal(t, 3, configs.gets, "one read by SaveConfig (for the stored app settings), one by the first callback")

	now = now.Add(cfg.CacheTTL)
	require.NoError(t, receive())
	require.Equal(t, 4, configs.gets, "read again after the TTL")

	configs.err = errors.New("clickhouse is down")
	now = now.Add(cfg.CacheTTL)
	err = receive()
	require.ErrorIs(t, err, wecom.ErrUnavailable)
	configs.err = nil
	require.NoError(t, receive(), "outages are not cached")
}

func TestSaveConfig(t *testing.T) {
	configs := newMemConfigs()
	r, _ := receiverAt(t, receiverNow, configs, &recorder{})
	ctx := context.Background()
	good := wecom.Config{CorpID: "wwacme", Token: "tok", EncodingAESKey: testAESKey}

	_, err := r.ConfigStatus(ctx, "acme")
	require.ErrorIs(t, err, wecom.ErrNotConfigured)

	st, err := r.SaveConfig(ctx, "acme", good)
	require.NoError(t, err)
	require.Equal(t, wecom.Status{CorpID: "wwacme", TokenSet: true, EncodingAESKeySet: true, UpdatedAt: receiverNow.UTC()}, st)
	st, err = r.ConfigStatus(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, "wwacme", st.CorpID)

	bad := good
	bad.EncodingAESKey = "short"
	_, err = r.SaveConfig(ctx, "acme", bad)
	var ce *wecom.ConfigError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "encoding_aes_key", ce.Field)
	_, err = r.SaveConfig(ctx, "Not A Tenant", good)
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "tenant", ce.Field)

	// The app's settings: a save without them keeps the stored ones of the
	// same corp, and drops another corp's.
	withApp := good
	withApp.AgentID, withApp.Secret = 1000002, "appsecret"
	st, err = r.SaveConfig(ctx, "acme", withApp)
	require.NoError(t, err)
	require.Equal(t, wecom.Status{CorpID: "wwacme", TokenSet: true, EncodingAESKeySet: true, AgentID: 1000002, SecretSet: true,
		UpdatedAt: receiverNow.UTC()}, st)
	newToken := good
	newToken.Token = "tok2"
	st, err = r.SaveConfig(ctx, "acme", newToken)
	require.NoError(t, err)
	require.True(t, st.SecretSet)
	require.Equal(t, int64(1000002), st.AgentID)
	stored, err := configs.Get(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, "appsecret", stored.Secret)
	require.Equal(t, "tok2", stored.Token)

	newAgent := good
	newAgent.AgentID = 1000003
	st, err = r.SaveConfig(ctx, "acme", newAgent)
	require.NoError(t, err)
	require.Equal(t, int64(1000003), st.AgentID)
	require.True(t, st.SecretSet, "a new agent id alone keeps the secret")

	otherCorp := good
	otherCorp.CorpID = "wwother"
	st, err = r.SaveConfig(ctx, "acme", otherCorp)
	require.NoError(t, err)
	require.Equal(t, wecom.Status{CorpID: "wwother", TokenSet: true, EncodingAESKeySet: true, UpdatedAt: receiverNow.UTC()}, st,
		"another corp's app settings are dropped")
}

func TestReceiverConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*wecom.ReceiverConfig)
		wantErr string
	}{
		{name: "defaults", edit: func(*wecom.ReceiverConfig) {}},
		{name: "no topic", edit: func(c *wecom.ReceiverConfig) { c.Topic = "" }, wantErr: "topic"},
		{name: "no skew", edit: func(c *wecom.ReceiverConfig) { c.MaxSkew = 0 }, wantErr: "skew"},
		{name: "produce timeout past WeCom's 5 s", edit: func(c *wecom.ReceiverConfig) { c.ProduceTimeout = 5 * time.Second }, wantErr: "produce timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := wecom.DefaultReceiverConfig("siyu.events")
			tt.edit(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestParseEnvelope(t *testing.T) {
	const b64 = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
	tests := []struct {
		name        string
		body        string
		wantEncrypt string // "" = refused
	}{
		{name: "WeCom's form", wantEncrypt: b64,
			body: "<xml><ToUserName><![CDATA[ww1]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID><Encrypt><![CDATA[" + b64 + "]]></Encrypt></xml>"},
		{name: "pretty-printed", wantEncrypt: b64,
			body: "\n<xml>\n  <ToUserName><![CDATA[ww1]]></ToUserName>\n  <Encrypt><![CDATA[" + b64 + "]]></Encrypt>\n</xml>\n"},
		{name: "plain text", wantEncrypt: b64, body: "<xml><Encrypt> " + b64 + " </Encrypt></xml>"},
		{name: "Encrypt first", wantEncrypt: b64, body: "<xml><Encrypt><![CDATA[" + b64 + "]]></Encrypt><AgentID>1</AgentID></xml>"},
		{name: "a comment before", wantEncrypt: "B", body: "<xml><!-- <Encrypt><![CDATA[A]]></Encrypt> --><Encrypt><![CDATA[B]]></Encrypt></xml>"},
		{name: "no Encrypt", body: "<xml><ToUserName>ww1</ToUserName></xml>"},
		{name: "empty Encrypt", body: "<xml><Encrypt><![CDATA[]]></Encrypt></xml>"},
		{name: "another root", body: "<root><Encrypt><![CDATA[" + b64 + "]]></Encrypt></root>"},
		{name: "JSON", body: `{"Encrypt": "` + b64 + `"}`},
		{name: "empty", body: ""},
		{name: "a DOCTYPE", body: `<!DOCTYPE xml [<!ENTITY e "AAAA">]><xml><Encrypt>&e;</Encrypt></xml>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := wecom.ParseEnvelope([]byte(tt.body))
			if tt.wantEncrypt == "" {
				require.ErrorIs(t, err, wecom.ErrEnvelope)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantEncrypt, env.Encrypt)
		})
	}
}
