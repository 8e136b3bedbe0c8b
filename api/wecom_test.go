package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/valyala/fastjson"

	"github.com/siyu-dev/siyu/api"
	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/kafka"
	"github.com/siyu-dev/siyu/wecom"
)

// weComApp is a tenant's WeCom app, as WeCom's servers use it: they encrypt
// and sign the callbacks that the tests send.
type weComApp struct {
	tenant, corpID, token, aesKey string
	crypter                       *wecom.Crypter
	nonces                        atomic.Int64
}

func newWeComApp(t testing.TB, tenant, corpID string) *weComApp {
	t.Helper()
	var k [32]byte
	_, err := rand.Read(k[:])
	require.NoError(t, err)
	a := &weComApp{tenant: tenant, corpID: corpID, token: "tok" + tenant,
		aesKey: base64.StdEncoding.EncodeToString(k[:])[:43]}
	a.crypter, err = wecom.NewCrypter(a.token, a.aesKey, corpID)
	require.NoError(t, err)
	return a
}

func (a *weComApp) configJSON() []byte {
	return []byte(fmt.Sprintf(`{"corp_id": %q, "token": %q, "encoding_aes_key": %q}`, a.corpID, a.token, a.aesKey))
}

// callback is a sealed callback: its path with the signed query, and body.
type callback struct {
	path string
	body []byte
}

// seal encrypts msg (anew each time: a new random prefix and nonce) and
// signs it at ts, as WeCom does for every delivery and retry.
func (a *weComApp) seal(t testing.TB, msg string, ts time.Time) callback {
	t.Helper()
	enc, err := a.crypter.Encrypt(nil, []byte(msg))
	require.NoError(t, err)
	stamp := strconv.FormatInt(ts.Unix(), 10)
	nonce := strconv.FormatInt(a.nonces.Add(1), 10)
	q := url.Values{"msg_signature": {a.crypter.Sign(stamp, nonce, enc)}, "timestamp": {stamp}, "nonce": {nonce}}
	body := "<xml><ToUserName><![CDATA[" + a.corpID + "]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID>" +
		"<Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
	return callback{path: "/wecom/callback/" + a.tenant + "?" + q.Encode(), body: []byte(body)}
}

// eventXML is a decrypted callback of kind event/changeType at ts.
func eventXML(corpID, ev, changeType string, ts time.Time, elems string) string {
	return fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"+
		"<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[%s]]></Event>"+
		"<ChangeType><![CDATA[%s]]></ChangeType>%s</xml>", corpID, ts.Unix(), ev, changeType, elems)
}

func contactXML(corpID, changeType string, ts time.Time, staff, contact, more string) string {
	return eventXML(corpID, "change_external_contact", changeType, ts,
		"<UserID><![CDATA["+staff+"]]></UserID><ExternalUserID><![CDATA["+contact+"]]></ExternalUserID>"+more)
}

// withWeCom gives the fixture's server a WeCom receiver over its ClickHouse
// and Kafka, with its own metrics registry.
func (f *fixture) withWeCom(t testing.TB, cfg wecom.ReceiverConfig, prod wecom.Producer) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	rcv, err := wecom.NewReceiver(cfg, wecom.NewConfigs(f.conn), prod, reg, testenv.Logger())
	require.NoError(t, err)
	deps := f.deps
	deps.WeCom, deps.Registry, deps.Gatherer = rcv, reg, reg
	f.srv = api.New(deps)
	return reg
}

// post sends a callback as WeCom does and returns the status and body.
func (f *fixture) post(t testing.TB, cb callback) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, cb.path, bytes.NewReader(cb.body))
	req.Header.Set("Content-Type", "text/xml")
	resp, err := f.srv.App().Test(req, -1)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestWeComConfig(t *testing.T) {
	f := newFixture(t)
	f.withWeCom(t, wecom.DefaultReceiverConfig(f.topics.Events), f.deps.Producer)
	app := newWeComApp(t, "acme", "wwacme0001")

	status, body := f.do(t, http.MethodGet, "/v1/wecom/config", "acme-admin", nil)
	require.Equal(t, http.StatusNotFound, status, "%s", body)

	tests := []struct {
		name       string
		key        string
		method     string
		body       []byte
		wantStatus int
		wantField  string
	}{
		{name: "no key", method: "PUT", body: app.configJSON(), wantStatus: 401},
		{name: "a rep may not", key: "acme-rep-s1", method: "PUT", body: app.configJSON(), wantStatus: 403},
		{name: "a manager may not", key: "acme-manager", method: "PUT", body: app.configJSON(), wantStatus: 403},
		{name: "a manager may not read", key: "acme-manager", method: "GET", wantStatus: 403},
		{name: "not JSON", key: "acme-admin", method: "PUT", body: []byte("corp_id=x"), wantStatus: 400, wantField: "body"},
		{name: "a misspelt field", key: "acme-admin", method: "PUT", body: []byte(`{"corpid": "ww1"}`), wantStatus: 400, wantField: "corpid"},
		{name: "bad key", key: "acme-admin", method: "PUT", wantStatus: 400, wantField: "encoding_aes_key",
			body: []byte(`{"corp_id": "ww1", "token": "t", "encoding_aes_key": "short"}`)},
		{name: "no corp id", key: "acme-admin", method: "PUT", wantStatus: 400, wantField: "corp_id",
			body: []byte(`{"token": "t", "encoding_aes_key": "` + app.aesKey + `"}`)},
		{name: "admin sets", key: "acme-admin", method: "PUT", body: app.configJSON(), wantStatus: 200},
		{name: "admin reads", key: "acme-admin", method: "GET", wantStatus: 200},
		{name: "platform reads", key: "platform", method: "GET", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/v1/wecom/config"
			if tt.key == "platform" {
				path += "?tenant=acme"
			}
			status, body := f.do(t, tt.method, path, tt.key, tt.body)
			require.Equal(t, tt.wantStatus, status, "%s", body)
			if status != http.StatusOK {
				require.Equal(t, tt.wantField, decodeError(t, body).Field)
				return
			}
			require.NotContains(t, string(body), app.token, "the token is never returned")
			require.NotContains(t, string(body), app.aesKey, "the key is never returned")
			v := fastjson.MustParseBytes(body)
			require.Equal(t, "wwacme0001", string(v.GetStringBytes("corp_id")))
			require.True(t, v.GetBool("token_set"))
			require.True(t, v.GetBool("encoding_aes_key_set"))
			require.Equal(t, "/wecom/callback/acme", string(v.GetStringBytes("callback_path")))
		})
	}

	t.Run("URL verification", func(t *testing.T) {
		echo, err := app.crypter.Encrypt(nil, []byte("5927435161061"))
		require.NoError(t, err)
		q := url.Values{}
		stamp := strconv.FormatInt(time.Now().Unix(), 10)
		q.Set("msg_signature", app.crypter.Sign(stamp, "77", echo))
		q.Set("timestamp", stamp)
		q.Set("nonce", "77")
		q.Set("echostr", echo)
		req := httptest.NewRequest(http.MethodGet, "/wecom/callback/acme?"+q.Encode(), nil)
		resp, err := f.srv.App().Test(req, -1)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
		require.Equal(t, "5927435161061", string(b))
		require.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
	})

	t.Run("globex has no settings", func(t *testing.T) {
		status, body := f.do(t, http.MethodGet, "/v1/wecom/config", "globex-admin", nil)
		require.Equal(t, http.StatusNotFound, status, "%s", body)
	})
}

// TestWeComCallbacksEndToEnd sends a callback of every mapped kind, as
// WeCom would, through the API, Kafka and the ingest pipeline into
// ClickHouse, and reads the profiles.
func TestWeComCallbacksEndToEnd(t *testing.T) {
	f := newFixture(t)
	reg := f.withWeCom(t, wecom.DefaultReceiverConfig(f.topics.Events), f.deps.Producer)
	app := newWeComApp(t, "acme", "wwacme0001")
	status, body := f.do(t, http.MethodPut, "/v1/wecom/config", "acme-admin", app.configJSON())
	require.Equal(t, http.StatusOK, status, "%s", body)

	c := app.corpID
	at := time.Now().Add(-30 * time.Minute).Truncate(time.Second)
	step := func(i int) time.Time { return at.Add(time.Duration(i) * time.Minute) }
	firstAdd := contactXML(c, "add_external_contact", step(0), "s1", "wmw1", "<State><![CDATA[spring]]></State><WelcomeCode><![CDATA[WC1]]></WelcomeCode>")
	messages := []struct {
		name     string
		xml      string
		wantType string
	}{
		{"rep s1 adds w1", firstAdd, "contact.added"},
		{"w2 adds rep s2 without verification", contactXML(c, "add_half_external_contact", step(1), "s2", "wmw2", "<State><![CDATA[qr-7]]></State>"), "contact.added"},
		{"a second rep adds w1", contactXML(c, "add_external_contact", step(2), "s2", "wmw1", ""), "contact.added"},
		{"rep s1 edits w1", contactXML(c, "edit_external_contact", step(3), "s1", "wmw1", ""), "contact.updated"},
		{"w2 deletes rep s2", contactXML(c, "del_follow_user", step(4), "s2", "wmw2", ""), "contact.removed"},
		{"rep s1 loses w1 to a transfer", contactXML(c, "del_external_contact", step(5), "s1", "wmw1", "<Source><![CDATA[DELETE_BY_TRANSFER]]></Source>"), "contact.removed"},
		{"a transfer of w1 to s3 fails", contactXML(c, "transfer_fail", step(6), "s3", "wmw1", "<FailReason><![CDATA[customer_refused]]></FailReason>"), "contact.transfer_failed"},
		{"rep s4 adds w3", contactXML(c, "add_external_contact", step(7), "s4", "wmw3", ""), "contact.added"},
		{"rep s4 deletes w3", contactXML(c, "del_external_contact", step(8), "s4", "wmw3", ""), "contact.removed"},
		{"a tag is created", eventXML(c, "change_external_tag", "create", step(9), "<Id><![CDATA[et1]]></Id><TagType><![CDATA[tag]]></TagType>"), "tag.changed"},
		{"a tag group is updated", eventXML(c, "change_external_tag", "update", step(10), "<Id><![CDATA[eg1]]></Id><TagType><![CDATA[tag_group]]></TagType>"), "tag.changed"},
		{"a tag is deleted", eventXML(c, "change_external_tag", "delete", step(11), "<Id><![CDATA[et1]]></Id><TagType><![CDATA[tag]]></TagType>"), "tag.changed"},
		{"tags are reordered", eventXML(c, "change_external_tag", "shuffle", step(12), "<Id><![CDATA[eg1]]></Id>"), "tag.reordered"},
		{"a group is created", eventXML(c, "change_external_chat", "create", step(13), "<ChatId><![CDATA[wrchat1]]></ChatId>"), "group.created"},
		{"members join the group", eventXML(c, "change_external_chat", "update", step(14), "<ChatId><![CDATA[wrchat1]]></ChatId><UpdateDetail><![CDATA[add_member]]></UpdateDetail><JoinScene>3</JoinScene><MemChangeCnt>2</MemChangeCnt><MemChangeList><Item>wmw1</Item><Item>wmw2</Item></MemChangeList>"), "group.updated"},
		{"the group is dismissed", eventXML(c, "change_external_chat", "dismiss", step(15), "<ChatId><![CDATA[wrchat1]]></ChatId>"), "group.dismissed"},
		{"a kind Siyu does not map", eventXML(c, "change_external_contact", "some_future_change", step(16), "<UserID>s1</UserID>"), "wecom.unmapped"},
	}
	ids := map[string]string{} // event id → want type
	for _, m := range messages {
		t.Run(m.name, func(t *testing.T) {
			status, body := f.post(t, app.seal(t, m.xml, time.Now()))
			require.Equal(t, http.StatusOK, status, body)
			require.Equal(t, "success", body)
			ids[wecom.EventID(c, []byte(m.xml))] = m.wantType
		})
	}
	require.Len(t, ids, len(messages), "every message is its own event")

	t.Run("WeCom's retries are the same event", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			status, body := f.post(t, app.seal(t, firstAdd, time.Now().Add(time.Duration(-i)*time.Second)))
			require.Equal(t, http.StatusOK, status, body)
		}
	})

	// Refused callbacks: none may reach Kafka.
	refusals := []struct {
		name       string
		cb         func() callback
		wantStatus int
		wantReason wecom.Reason
	}{
		{name: "bad signature", wantStatus: 401, wantReason: wecom.ReasonSignature, cb: func() callback {
			cb := app.seal(t, contactXML(c, "add_external_contact", step(20), "evil", "wmw9", ""), time.Now())
			cb.path = strings.Replace(cb.path, "msg_signature=", "msg_signature=0", 1)
			return cb
		}},
		{name: "stale timestamp: a replay", wantStatus: 403, wantReason: wecom.ReasonStale, cb: func() callback {
			return app.seal(t, contactXML(c, "add_external_contact", step(21), "evil", "wmw9", ""), time.Now().Add(-10*time.Minute))
		}},
		{name: "oversized body", wantStatus: 413, wantReason: wecom.ReasonTooLarge, cb: func() callback {
			return app.seal(t, contactXML(c, "add_external_contact", step(22), "evil", "wmw9", strings.Repeat("<X>y</X>", 10_000)), time.Now())
		}},
		{name: "another corp's message under our key", wantStatus: 403, wantReason: wecom.ReasonReceiveID, cb: func() callback {
			other := &weComApp{tenant: app.tenant, corpID: "wwother", token: app.token, aesKey: app.aesKey}
			other.crypter, _ = wecom.NewCrypter(app.token, app.aesKey, "wwother")
			return other.seal(t, contactXML(c, "add_external_contact", step(23), "evil", "wmw9", ""), time.Now())
		}},
		{name: "a tenant without settings", wantStatus: 404, wantReason: wecom.ReasonUnknownTenant, cb: func() callback {
			cb := app.seal(t, contactXML(c, "add_external_contact", step(24), "evil", "wmw9", ""), time.Now())
			cb.path = strings.Replace(cb.path, "/acme?", "/globex?", 1)
			return cb
		}},
		{name: "no query", wantStatus: 400, wantReason: wecom.ReasonParams, cb: func() callback {
			cb := app.seal(t, contactXML(c, "add_external_contact", step(25), "evil", "wmw9", ""), time.Now())
			cb.path = "/wecom/callback/acme"
			return cb
		}},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			status, body := f.post(t, r.cb())
			require.Equal(t, r.wantStatus, status, body)
			require.EqualValues(t, 1, testenv.Counter(t, reg, "siyu_wecom_refused_total", "reason", string(r.wantReason)))
		})
	}

	// The events are in ClickHouse, each once, of the mapped types.
	source := wecom.Source(c)
	testenv.Eventually(t, 20*time.Second, func() error {
		var n uint64
		if err := f.conn.QueryRow(f.ctx, "SELECT count() FROM events FINAL WHERE tenant = 'acme' AND source = ?", source).Scan(&n); err != nil {
			return err
		}
		if n != uint64(len(messages)) {
			return fmt.Errorf("%d events from WeCom, want %d", n, len(messages))
		}
		return nil
	})
	rows, err := f.conn.Query(f.ctx, "SELECT id, type FROM events FINAL WHERE tenant = 'acme' AND source = ?", source)
	require.NoError(t, err)
	got := map[string]string{}
	for rows.Next() {
		var id, typ string
		require.NoError(t, rows.Scan(&id, &typ))
		got[id] = typ
	}
	require.NoError(t, rows.Err())
	require.Equal(t, ids, got, "each callback is one event of its type; the retries added none")

	// The retries did reach Kafka: four deliveries, one event.
	first := wecom.EventID(c, []byte(firstAdd))
	require.Equal(t, 4, countRecords(t, f, first, len(messages)+3))

	t.Run("profiles", func(t *testing.T) {
		// The state tables fill just after events (materialized views): poll.
		testenv.Eventually(t, 10*time.Second, func() error {
			for contact, want := range map[string]string{"wmw1": "s2", "wmw2": "", "wmw3": ""} {
				pr, err := f.profiles.Get(f.ctx, "acme", contact)
				if err != nil {
					return err
				}
				var live []string
				for _, r := range pr.Relations {
					live = append(live, r.StaffID)
				}
				if got := strings.Join(live, ","); got != want {
					return fmt.Errorf("%s: live relations %q, want %q", contact, got, want)
				}
				if contact == "wmw1" && (pr.FirstEventAt == nil || !pr.FirstEventAt.Equal(step(0))) {
					return fmt.Errorf("wmw1: first event at %v, want %v", pr.FirstEventAt, step(0))
				}
			}
			return nil
		})
		// w1: s1 lost it to a transfer and s2 holds it; w2 deleted its only
		// rep; s4 deleted w3.
		w1, err := f.profiles.Get(f.ctx, "acme", "wmw1")
		require.NoError(t, err)
		require.Equal(t, step(0).UTC(), w1.FirstEventAt.UTC())
		require.Equal(t, step(2).UTC(), w1.Relations[0].FirstAddedAt.UTC())

		var by, removedSource, state, welcome string
		require.NoError(t, f.conn.QueryRow(f.ctx, "SELECT removed_by FROM events FINAL WHERE tenant = 'acme' AND subject = 'wmw2' AND type = 'contact.removed'").Scan(&by))
		require.Equal(t, "customer", by)
		require.NoError(t, f.conn.QueryRow(f.ctx, "SELECT removed_by, visitParamExtractString(data, 'removed_source') FROM events FINAL WHERE tenant = 'acme' AND subject = 'wmw1' AND type = 'contact.removed'").Scan(&by, &removedSource))
		require.Equal(t, "staff", by)
		require.Equal(t, "DELETE_BY_TRANSFER", removedSource)
		require.NoError(t, f.conn.QueryRow(f.ctx, "SELECT state, visitParamExtractString(data, 'welcome_code') FROM events FINAL WHERE id = ?", first).Scan(&state, &welcome))
		require.Equal(t, "spring", state)
		require.Equal(t, "WC1", welcome)
	})

	t.Run("metrics", func(t *testing.T) {
		require.EqualValues(t, len(messages)+3, testenv.Counter(t, reg, "siyu_wecom_callbacks_total", "outcome", "accepted"))
		require.EqualValues(t, len(refusals), testenv.Counter(t, reg, "siyu_wecom_callbacks_total", "outcome", "refused"))
		require.EqualValues(t, 1, testenv.Counter(t, reg, "siyu_wecom_events_total", "type", "wecom.unmapped"))
		require.EqualValues(t, 4+3, testenv.Counter(t, reg, "siyu_wecom_events_total", "type", "contact.added"), "three adds and three retries")
	})
}

// countRecords reads the events topic until it has seen total records and
// returns how many carry the event id.
func countRecords(t *testing.T, f *fixture, id string, total int) int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.broker), kgo.ConsumeTopics(f.topics.Events),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(f.ctx, 10*time.Second)
	defer cancel()
	seen, n := 0, 0
	for seen < total+3 && ctx.Err() == nil { // +3: the fixture's seed
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			seen++
			if fastjson.GetString(r.Value, "id") == id {
				n++
			}
		})
	}
	return n
}

// TestWeComKafkaDown: when Kafka does not acknowledge, the callback is
// answered 503 so that WeCom retries it.
func TestWeComKafkaDown(t *testing.T) {
	f := newFixture(t)
	down, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"), kgo.RecordRetries(1))
	require.NoError(t, err)
	t.Cleanup(down.Close)
	cfg := wecom.DefaultReceiverConfig(f.topics.Events)
	cfg.ProduceTimeout = 300 * time.Millisecond
	reg := f.withWeCom(t, cfg, down)
	app := newWeComApp(t, "acme", "wwacme0001")
	status, body := f.do(t, http.MethodPut, "/v1/wecom/config", "acme-admin", app.configJSON())
	require.Equal(t, http.StatusOK, status, "%s", body)

	status, resp := f.post(t, app.seal(t, contactXML(app.corpID, "add_external_contact", time.Now(), "s1", "wmw1", ""), time.Now()))
	require.Equal(t, http.StatusServiceUnavailable, status, resp)
	require.EqualValues(t, 1, testenv.Counter(t, reg, "siyu_wecom_callbacks_total", "outcome", "failed"))
}

func TestWeComDisabled(t *testing.T) {
	srv := api.New(api.Deps{Gatherer: prometheus.NewRegistry(), Log: testenv.Logger()})
	req := httptest.NewRequest(http.MethodPost, "/wecom/callback/acme?msg_signature=x&timestamp=1&nonce=1", strings.NewReader("<xml/>"))
	resp, err := srv.App().Test(req, -1)
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// BenchmarkWeComCallbacks is the whole receive path over HTTP on loopback:
// Fiber, verify, decrypt, parse, map, produce to Kafka (kfake) and wait for
// the ack, from 64 concurrent WeCom connections.
func BenchmarkWeComCallbacks(b *testing.B) {
	ctx := context.Background()
	conn, _ := testenv.Database(b)
	_, broker := testenv.Kafka(b)
	topics := kafka.DefaultTopics()
	prod, err := kgo.NewClient(kafka.ProducerOpts([]string{broker})...)
	require.NoError(b, err)
	b.Cleanup(prod.Close)
	require.NoError(b, kafka.EnsureTopics(ctx, prod, topics))

	reg := prometheus.NewRegistry()
	rcv, err := wecom.NewReceiver(wecom.DefaultReceiverConfig(topics.Events), wecom.NewConfigs(conn), prod, reg, testenv.Logger())
	require.NoError(b, err)
	app := newWeComApp(b, "acme", "wwacme0001")
	_, err = rcv.SaveConfig(ctx, "acme", wecom.Config{CorpID: app.corpID, Token: app.token, EncodingAESKey: app.aesKey})
	require.NoError(b, err)
	srv := api.New(api.Deps{Producer: prod, Topics: topics, Gatherer: reg, Registry: reg, Log: testenv.Logger(), WeCom: rcv})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	go func() { _ = srv.App().Listener(ln) }()
	b.Cleanup(func() { _ = srv.App().Shutdown() })

	now := time.Now()
	calls := make([]callback, 4096)
	for i := range calls {
		msg := contactXML(app.corpID, "add_external_contact", now.Add(-time.Hour), "s"+strconv.Itoa(i%50), "wmb"+strconv.Itoa(i), "<State>bench</State>")
		calls[i] = app.seal(b, msg, now)
	}
	const conns = 64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}}
	base := "http://" + ln.Addr().String()
	var next atomic.Int64
	var failures sync.Map

	b.SetParallelism(max(1, conns/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			cb := calls[next.Add(1)%int64(len(calls))]
			resp, err := client.Post(base+cb.path, "text/xml", bytes.NewReader(cb.body))
			if err != nil {
				failures.Store(err.Error(), true)
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "success" {
				failures.Store(fmt.Sprintf("%d %s", resp.StatusCode, body), true)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	failures.Range(func(k, _ any) bool { b.Fatalf("callback failed: %v", k); return false })
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "callbacks/s")
}

// weComAPI is a stand-in for WeCom's server API for one app (corp
// wwacme0001, secret appsecret): it checks each call's path and exact query
// as WeCom documents them and counts the calls.
type weComAPI struct {
	t     *testing.T
	mu    sync.Mutex
	calls map[string]int
}

func (s *weComAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[r.URL.Path]++
	q := r.URL.Query()
	wantQuery := func(want url.Values) bool {
		if r.Method != http.MethodGet || q.Encode() != want.Encode() {
			s.t.Errorf("%s %s?%s, want GET ?%s", r.Method, r.URL.Path, q.Encode(), want.Encode())
			_, _ = w.Write([]byte(`{"errcode": 40001, "errmsg": "invalid credential"}`))
			return false
		}
		return true
	}
	switch r.URL.Path {
	case "/cgi-bin/gettoken":
		if wantQuery(url.Values{"corpid": {"wwacme0001"}, "corpsecret": {"appsecret"}}) {
			_, _ = w.Write([]byte(`{"errcode": 0, "errmsg": "ok", "access_token": "tok-1", "expires_in": 7200}`))
		}
	case "/cgi-bin/get_jsapi_ticket":
		if wantQuery(url.Values{"access_token": {"tok-1"}}) {
			_, _ = w.Write([]byte(`{"errcode": 0, "errmsg": "ok", "ticket": "corp-ticket", "expires_in": 7200}`))
		}
	case "/cgi-bin/ticket/get":
		if wantQuery(url.Values{"access_token": {"tok-1"}, "type": {"agent_config"}}) {
			_, _ = w.Write([]byte(`{"errcode": 0, "errmsg": "ok", "ticket": "agent-ticket", "expires_in": 7200}`))
		}
	default:
		s.t.Errorf("unexpected call %s", r.URL)
		http.NotFound(w, r)
	}
}

// withWeComAPI gives the fixture's server a WeCom receiver and the
// clients of the tenants' apps, calling the stand-in.
func (f *fixture) withWeComAPI(t *testing.T) *weComAPI {
	t.Helper()
	stand := &weComAPI{t: t, calls: map[string]int{}}
	f.withWeComStandIn(t, stand)
	return stand
}

// withWeComStandIn gives the fixture's server a WeCom receiver and the
// clients of the tenants' apps, calling stand (a stand-in of WeCom's API).
func (f *fixture) withWeComStandIn(t *testing.T, stand http.Handler) {
	t.Helper()
	srv := httptest.NewServer(stand)
	t.Cleanup(srv.Close)
	ep := wecom.DefaultEndpoints()
	ep.API = srv.URL
	reg := prometheus.NewRegistry()
	rcv, err := wecom.NewReceiver(wecom.DefaultReceiverConfig(f.topics.Events), wecom.NewConfigs(f.conn), f.deps.Producer, reg, testenv.Logger())
	require.NoError(t, err)
	deps := f.deps
	deps.WeCom, deps.Registry, deps.Gatherer = rcv, reg, reg
	deps.WeComClients = wecom.NewClients(wecom.NewConfigs(f.conn).Get, ep, srv.Client())
	f.srv = api.New(deps)
}

func TestWeComConfigApp(t *testing.T) {
	f := newFixture(t)
	f.withWeCom(t, wecom.DefaultReceiverConfig(f.topics.Events), f.deps.Producer)
	app := newWeComApp(t, "acme", "wwacme0001")
	put := func(body string) (int, *fastjson.Value, []byte) {
		status, b := f.do(t, http.MethodPut, "/v1/wecom/config", "acme-admin", []byte(body))
		if status != http.StatusOK {
			return status, nil, b
		}
		return status, fastjson.MustParseBytes(b), b
	}
	withApp := func(extra string) string {
		b := app.configJSON()
		return string(b[:len(b)-1]) + ", " + extra + "}"
	}

	status, v, body := put(string(app.configJSON()))
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.False(t, v.GetBool("secret_set"), "the old body: no app settings")
	require.Equal(t, 0, v.GetInt("agent_id"))

	status, v, body = put(withApp(`"agent_id": 1000002, "secret": "appsecret"`))
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.True(t, v.GetBool("secret_set"))
	require.Equal(t, 1000002, v.GetInt("agent_id"))
	require.NotContains(t, string(body), "appsecret", "the secret is write-only")

	status, v, body = put(string(app.configJSON()))
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.True(t, v.GetBool("secret_set"), "a PUT without the secret keeps it")
	require.Equal(t, 1000002, v.GetInt("agent_id"))
	stored, err := wecom.NewConfigs(f.conn).Get(f.ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, "appsecret", stored.Secret, "stored in ClickHouse")
	require.Equal(t, int64(1000002), stored.AgentID)

	status, b := f.do(t, http.MethodGet, "/v1/wecom/config", "acme-admin", nil)
	require.Equal(t, http.StatusOK, status, "%s", b)
	require.NotContains(t, string(b), "appsecret")
	got := fastjson.MustParseBytes(b)
	require.True(t, got.GetBool("secret_set"))
	require.Equal(t, 1000002, got.GetInt("agent_id"))

	for _, tt := range []struct{ extra, field string }{
		{`"agent_id": -1`, "agent_id"},
		{`"agent_id": 1.5`, "agent_id"},
		{`"secret": "a b"`, "secret"},
	} {
		status, _, body := put(withApp(tt.extra))
		require.Equal(t, http.StatusBadRequest, status, "%s: %s", tt.extra, body)
		require.Equal(t, tt.field, decodeError(t, body).Field, tt.extra)
	}
}

func TestWeComJSSDK(t *testing.T) {
	f := newFixture(t)
	const page = "https://siyu.example/sidebar?contact=wm1&x=%E4%B8%AD"
	path := "/v1/wecom/jssdk?url=" + url.QueryEscape(page)

	status, body := f.do(t, http.MethodGet, path, "acme-rep-s1", nil)
	require.Equal(t, http.StatusNotFound, status, "without clients: %s", body)

	stand := f.withWeComAPI(t)
	status, body = f.do(t, http.MethodGet, path, "acme-rep-s1", nil)
	require.Equal(t, http.StatusConflict, status, "%s", body)
	e := decodeError(t, body)
	require.Equal(t, "wecom_not_configured", e.Code)
	require.Contains(t, e.Message, "an admin must set the corp id, agent id and secret")

	app := newWeComApp(t, "acme", "wwacme0001")
	status, body = f.do(t, http.MethodPut, "/v1/wecom/config", "acme-admin", app.configJSON())
	require.Equal(t, http.StatusOK, status, "%s", body)
	status, body = f.do(t, http.MethodGet, path, "acme-rep-s1", nil)
	require.Equal(t, http.StatusConflict, status, "callback settings alone are not enough: %s", body)

	cfg := app.configJSON()
	cfg = append(cfg[:len(cfg)-1], []byte(`, "agent_id": 1000002, "secret": "appsecret"}`)...)
	status, body = f.do(t, http.MethodPut, "/v1/wecom/config", "acme-admin", cfg)
	require.Equal(t, http.StatusOK, status, "%s", body)

	for _, key := range []string{"acme-admin", "acme-manager", "acme-rep-s1", "acme-marketer", "platform"} {
		t.Run(key, func(t *testing.T) {
			p := path
			if key == "platform" {
				p += "&tenant=acme"
			}
			status, body := f.do(t, http.MethodGet, p, key, nil)
			require.Equal(t, http.StatusOK, status, "%s", body)
			v := fastjson.MustParseBytes(body)
			require.Equal(t, "wwacme0001", string(v.GetStringBytes("corp_id")))
			require.Equal(t, 1000002, v.GetInt("agent_id"))
			ts, nonce := v.GetInt64("timestamp"), string(v.GetStringBytes("nonce_str"))
			require.InDelta(t, time.Now().Unix(), ts, 5)
			require.NotEmpty(t, nonce)
			require.Equal(t, wecom.JSSDKSignature("corp-ticket", nonce, ts, page), string(v.GetStringBytes("signature")))
			require.Equal(t, wecom.JSSDKSignature("agent-ticket", nonce, ts, page), string(v.GetStringBytes("agent_signature")))
			require.Equal(t, 6, v.GetObject().Len(), "exactly the six fields: %s", body)
		})
	}
	stand.mu.Lock()
	require.Equal(t, map[string]int{"/cgi-bin/gettoken": 1, "/cgi-bin/get_jsapi_ticket": 1, "/cgi-bin/ticket/get": 1}, stand.calls,
		"one token and one ticket each for five requests: cached per tenant's app")
	stand.mu.Unlock()

	refusals := []struct {
		name, key, query string
		wantStatus       int
		wantField        string
	}{
		{name: "exec may not", key: "acme-exec", query: "url=" + url.QueryEscape(page), wantStatus: 403},
		{name: "billing may not", key: "acme-billing", query: "url=" + url.QueryEscape(page), wantStatus: 403},
		{name: "no key", query: "url=" + url.QueryEscape(page), wantStatus: 401},
		{name: "no url", key: "acme-rep-s1", wantStatus: 400, wantField: "url"},
		{name: "a relative url", key: "acme-rep-s1", query: "url=%2Fsidebar", wantStatus: 400, wantField: "url"},
		{name: "not http", key: "acme-rep-s1", query: "url=" + url.QueryEscape("ftp://siyu.example/x"), wantStatus: 400, wantField: "url"},
		{name: "a fragment", key: "acme-rep-s1", query: "url=" + url.QueryEscape(page+"#top"), wantStatus: 400, wantField: "url"},
		{name: "a space", key: "acme-rep-s1", query: "url=" + url.QueryEscape("https://siyu.example/a b"), wantStatus: 400, wantField: "url"},
		{name: "too long", key: "acme-rep-s1", query: "url=" + url.QueryEscape("https://siyu.example/"+strings.Repeat("a", 2048)),
			wantStatus: 400, wantField: "url"},
		{name: "globex is not configured", key: "globex-admin", query: "url=" + url.QueryEscape(page), wantStatus: 409},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.do(t, http.MethodGet, "/v1/wecom/jssdk?"+tt.query, tt.key, nil)
			require.Equal(t, tt.wantStatus, status, "%s", body)
			require.Equal(t, tt.wantField, decodeError(t, body).Field)
		})
	}
}
