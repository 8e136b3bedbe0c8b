package wecom_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/internal/testenv"
	"github.com/siyu-dev/siyu/wecom"
)

// TestVectors replays WeCom's published vectors exactly, through the crypto
// layer and through the Receiver with its clock set to 2014.
func TestVectors(t *testing.T) {
	v := loadVectors(t)
	cr, err := wecom.NewCrypter(v.Token, v.EncodingAESKey, v.ReceiveID)
	require.NoError(t, err)

	t.Run("verify_url signature", func(t *testing.T) {
		u := v.VerifyURL
		require.Equal(t, u.MsgSignature, wecom.Signature(v.Token, u.Timestamp, u.Nonce, u.EchoStr))
		require.NoError(t, cr.Verify(u.MsgSignature, u.Timestamp, u.Nonce, u.EchoStr))
	})
	t.Run("verify_url plaintext", func(t *testing.T) {
		plain, err := cr.Decrypt(v.VerifyURL.EchoStr)
		require.NoError(t, err)
		require.Equal(t, v.VerifyURL.Plaintext, string(plain))
		require.Equal(t, "1616140317555161061", string(plain))
	})
	t.Run("decrypt_msg signature", func(t *testing.T) {
		d := v.DecryptMsg
		require.Equal(t, d.MsgSignature, wecom.Signature(v.Token, d.Timestamp, d.Nonce, d.Encrypt))
		require.NoError(t, cr.Verify(d.MsgSignature, d.Timestamp, d.Nonce, d.Encrypt))
	})
	t.Run("decrypt_msg plaintext", func(t *testing.T) {
		plain, err := cr.Decrypt(v.DecryptMsg.Encrypt)
		require.NoError(t, err)
		require.Equal(t, v.DecryptMsg.Plaintext, string(plain))
	})

	configs := newMemConfigs()
	configs.m["vectors"] = wecom.Config{CorpID: v.ReceiveID, Token: v.Token, EncodingAESKey: v.EncodingAESKey}

	t.Run("receiver GET verify_url", func(t *testing.T) {
		u := v.VerifyURL
		r, reg := receiverAt(t, unixTime(t, u.Timestamp), configs, &recorder{})
		plain, err := r.VerifyURL(context.Background(), "vectors",
			wecom.Params{MsgSignature: u.MsgSignature, Timestamp: u.Timestamp, Nonce: u.Nonce, EchoStr: u.EchoStr})
		require.NoError(t, err)
		require.Equal(t, "1616140317555161061", string(plain))
		require.EqualValues(t, 1, testenv.Counter(t, reg, "siyu_wecom_callbacks_total", "outcome", "verified"))

		// A "+" sent unescaped arrives as a space.
		plain, err = r.VerifyURL(context.Background(), "vectors", wecom.Params{MsgSignature: u.MsgSignature,
			Timestamp: u.Timestamp, Nonce: u.Nonce, EchoStr: strings.ReplaceAll(u.EchoStr, "+", " ")})
		require.NoError(t, err)
		require.Equal(t, u.Plaintext, string(plain))
	})
	t.Run("receiver POST decrypt_msg", func(t *testing.T) {
		d := v.DecryptMsg
		prod := &recorder{}
		r, reg := receiverAt(t, unixTime(t, d.Timestamp), configs, prod)
		body := "<xml><ToUserName><![CDATA[" + v.ReceiveID + "]]></ToUserName>\n<Encrypt><![CDATA[" + d.Encrypt +
			"]]></Encrypt>\n<AgentID><![CDATA[218]]></AgentID>\n</xml>"
		rc, err := r.Receive(context.Background(), "vectors",
			wecom.Params{MsgSignature: d.MsgSignature, Timestamp: d.Timestamp, Nonce: d.Nonce}, []byte(body))
		require.NoError(t, err)
		// A text message is not a kind Siyu maps: it is kept raw.
		require.Equal(t, "wecom.unmapped", string(rc.Type))
		require.Equal(t, "text", rc.Kind)
		require.Len(t, prod.values(), 1)
		require.Contains(t, prod.values()[0], `"xml":"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n`)
		require.EqualValues(t, 1, testenv.Counter(t, reg, "siyu_wecom_events_total", "type", "wecom.unmapped"))
	})
	t.Run("the vectors are stale today", func(t *testing.T) {
		d := v.DecryptMsg
		r, reg := receiverAt(t, unixTime(t, d.Timestamp).AddDate(12, 0, 0), configs, &recorder{})
		body := "<xml><Encrypt><![CDATA[" + d.Encrypt + "]]></Encrypt></xml>"
		_, err := r.Receive(context.Background(), "vectors",
			wecom.Params{MsgSignature: d.MsgSignature, Timestamp: d.Timestamp, Nonce: d.Nonce}, []byte(body))
		require.Equal(t, wecom.ReasonStale, refusal(t, err))
		require.EqualValues(t, 1, testenv.Counter(t, reg, "siyu_wecom_refused_total", "reason", "stale"))
	})
}

func TestVerify(t *testing.T) {
	v := loadVectors(t)
	cr, err := wecom.NewCrypter(v.Token, v.EncodingAESKey, v.ReceiveID)
	require.NoError(t, err)
	d := v.DecryptMsg
	tests := []struct {
		name                  string
		sig, ts, nonce, crypt string
		wantErr               error
	}{
		{name: "genuine", sig: d.MsgSignature, ts: d.Timestamp, nonce: d.Nonce, crypt: d.Encrypt},
		{name: "upper-case hex", sig: strings.ToUpper(d.MsgSignature), ts: d.Timestamp, nonce: d.Nonce, crypt: d.Encrypt, wantErr: wecom.ErrSignature},
		{name: "other timestamp", sig: d.MsgSignature, ts: "1409659814", nonce: d.Nonce, crypt: d.Encrypt, wantErr: wecom.ErrSignature},
		{name: "other nonce", sig: d.MsgSignature, ts: d.Timestamp, nonce: "1", crypt: d.Encrypt, wantErr: wecom.ErrSignature},
		{name: "other payload", sig: d.MsgSignature, ts: d.Timestamp, nonce: d.Nonce, crypt: d.Encrypt[1:], wantErr: wecom.ErrSignature},
		{name: "truncated signature", sig: d.MsgSignature[:39], ts: d.Timestamp, nonce: d.Nonce, crypt: d.Encrypt, wantErr: wecom.ErrSignature},
		{name: "empty signature", ts: d.Timestamp, nonce: d.Nonce, crypt: d.Encrypt, wantErr: wecom.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cr.Verify(tt.sig, tt.ts, tt.nonce, tt.crypt)
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestEncryptRoundTrip(t *testing.T) {
	a := newTestApp(t, "acme", "ww1436e0e65a779aee")
	tests := []struct {
		name string
		msg  string
	}{
		{name: "empty", msg: ""},
		{name: "whole blocks: a block of padding", msg: strings.Repeat("x", 64-16-4-len("ww1436e0e65a779aee"))},
		{name: "xml", msg: "<xml><Event><![CDATA[change_external_contact]]></Event></xml>"},
		{name: "chinese", msg: "<xml><State>春季活动</State></xml>"},
		{name: "large", msg: strings.Repeat("<Item>a</Item>", 4000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := a.crypter.Encrypt(nil, []byte(tt.msg))
			require.NoError(t, err)
			raw, err := base64.StdEncoding.DecodeString(enc)
			require.NoError(t, err)
			require.Zero(t, len(raw)%32, "padded to 32-byte blocks")
			plain, err := a.crypter.Decrypt(enc)
			require.NoError(t, err)
			require.Equal(t, tt.msg, string(plain))

			again, err := a.crypter.Encrypt(nil, []byte(tt.msg))
			require.NoError(t, err)
			require.NotEqual(t, enc, again, "a new random prefix each time")
		})
	}

	t.Run("fixed random prefix", func(t *testing.T) {
		prefix := bytes.NewReader(bytes.Repeat([]byte{7}, 16))
		enc, err := a.crypter.Encrypt(prefix, []byte("hello"))
		require.NoError(t, err)
		plain, err := a.crypter.Decrypt(enc)
		require.NoError(t, err)
		require.Equal(t, "hello", string(plain))
	})
}

func TestDecryptRefusals(t *testing.T) {
	a := newTestApp(t, "acme", "ww1436e0e65a779aee")
	other := newTestApp(t, "globex", "wwglobex")
	genuine, err := a.crypter.Encrypt(nil, []byte("<xml/>"))
	require.NoError(t, err)
	forOther, err := other.crypter.Encrypt(nil, []byte("<xml/>")) // same key, other corp
	require.NoError(t, err)
	otherKey, err := wecom.NewCrypter("t", "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg", "ww1436e0e65a779aee")
	require.NoError(t, err)
	underOtherKey, err := otherKey.Encrypt(nil, []byte("<xml/>"))
	require.NoError(t, err)
	raw, _ := base64.StdEncoding.DecodeString(genuine)
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)-1] ^= 0x55

	tests := []struct {
		name    string
		encrypt string
		wantErr error
	}{
		{name: "not base64", encrypt: "@@@@", wantErr: wecom.ErrDecrypt},
		{name: "empty", encrypt: "", wantErr: wecom.ErrDecrypt},
		{name: "one AES block", encrypt: base64.StdEncoding.EncodeToString(raw[:16]), wantErr: wecom.ErrDecrypt},
		{name: "not whole blocks", encrypt: base64.StdEncoding.EncodeToString(raw[:40]), wantErr: wecom.ErrDecrypt},
		{name: "tampered last block", encrypt: base64.StdEncoding.EncodeToString(flipped), wantErr: wecom.ErrDecrypt},
		{name: "another key", encrypt: underOtherKey, wantErr: wecom.ErrDecrypt},
		{name: "another corp", encrypt: forOther, wantErr: wecom.ErrReceiveID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.crypter.Decrypt(tt.encrypt)
			require.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	good := wecom.Config{CorpID: "ww1436e0e65a779aee", Token: "QDG6eK", EncodingAESKey: testAESKey}
	tests := []struct {
		name      string
		edit      func(*wecom.Config)
		wantField string
	}{
		{name: "good", edit: func(*wecom.Config) {}},
		{name: "no corp id", edit: func(c *wecom.Config) { c.CorpID = "" }, wantField: "corp_id"},
		{name: "corp id with a space", edit: func(c *wecom.Config) { c.CorpID = "ww 1" }, wantField: "corp_id"},
		{name: "no token", edit: func(c *wecom.Config) { c.Token = "" }, wantField: "token"},
		{name: "token with punctuation", edit: func(c *wecom.Config) { c.Token = "a-b" }, wantField: "token"},
		{name: "key too short", edit: func(c *wecom.Config) { c.EncodingAESKey = testAESKey[:42] }, wantField: "encoding_aes_key"},
		{name: "key not base64", edit: func(c *wecom.Config) { c.EncodingAESKey = "!" + testAESKey[1:] }, wantField: "encoding_aes_key"},
		{name: "with the app", edit: func(c *wecom.Config) { c.AgentID, c.Secret = 1000002, "sEcr3t-_x" }},
		{name: "negative agent", edit: func(c *wecom.Config) { c.AgentID = -1 }, wantField: "agent_id"},
		{name: "agent over 32 bits", edit: func(c *wecom.Config) { c.AgentID = 1 << 31 }, wantField: "agent_id"},
		{name: "secret with a space", edit: func(c *wecom.Config) { c.Secret = "a b" }, wantField: "secret"},
		{name: "secret too long", edit: func(c *wecom.Config) { c.Secret = strings.Repeat("s", 129) }, wantField: "secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			err := c.Validate()
			if tt.wantField == "" {
				require.NoError(t, err)
				return
			}
			var ce *wecom.ConfigError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tt.wantField, ce.Field)
		})
	}

	t.Run("secrets stay out of logs", func(t *testing.T) {
		c := good
		c.AgentID, c.Secret = 1000002, "theAppSecret"
		for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v", c, c, c)} {
			require.NotContains(t, s, c.Token)
			require.NotContains(t, s, c.EncodingAESKey)
			require.NotContains(t, s, c.Secret)
			require.Contains(t, s, c.CorpID)
			require.Contains(t, s, "1000002")
		}
	})
}
