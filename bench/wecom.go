package main

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The WeCom figure's tenant and its app, as WeCom's servers know it.
const (
	wecomTenant = "t0002"
	wecomCorpID = "wwbench0000000001"
	wecomToken  = "benchToken"
)

// measureWeCom starts `siyu serve`, sets the tenant's WeCom app settings
// with PUT /v1/wecom/config, and posts prebuilt callbacks, encrypted and
// signed as WeCom sends them, from concurrent keep-alive clients for the
// figure's duration. Each must be answered 200 "success": verified,
// decrypted, mapped and produced to Kafka.
func (h *harness) measureWeCom(ctx context.Context) error {
	dsn, key, err := h.adminKey(ctx, wecomTenant)
	if err != nil {
		return err
	}
	aesKey, err := newEncodingAESKey()
	if err != nil {
		return err
	}
	crypter, err := newSealer(wecomToken, aesKey, wecomCorpID)
	if err != nil {
		return err
	}
	srv, addr, err := h.startServe(ctx, dsn)
	if err != nil {
		return err
	}
	defer h.release(ctx, srv)
	if err := putWeComConfig(ctx, "http://"+addr, key, aesKey); err != nil {
		return err
	}
	n := h.cfg.wecomCallbacks
	h.say("sealing %s add_external_contact callbacks", thousands(n))
	calls, err := sealCallbacks(crypter, "http://"+addr+"/wecom/callback/"+wecomTenant, n, time.Now())
	if err != nil {
		return err
	}
	h.say("posting callbacks from %d clients for %s", h.cfg.wecomClients, h.cfg.wecomFor)
	cpu := h.meter(map[string]int{"siyu serve": srv.pid()})
	r := drive(ctx, h.cfg.wecomClients, h.cfg.wecomFor, len(calls), 1, func() sender {
		return func(ctx context.Context, hc *http.Client, i int) error {
			return calls[i%len(calls)].post(ctx, hc)
		}
	})
	h.recordCPU("WeCom callbacks", cpu)
	h.res.wecom = &r
	h.say("WeCom callbacks: %s callbacks/s, p99 %s, %d failures of %d requests", thousands(int(r.rate)), round(r.p99), r.failures, r.requests)
	if err := srv.exited(); err != nil {
		return err
	}
	return srv.stop(15 * time.Second)
}

// newEncodingAESKey returns a random EncodingAESKey: 43 characters of base64.
func newEncodingAESKey() (string, error) {
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(k[:])[:43], nil
}

// putWeComConfig sets the key's tenant's WeCom app settings.
func putWeComConfig(ctx context.Context, base, key, aesKey string) error {
	body, err := json.Marshal(map[string]string{"corp_id": wecomCorpID, "token": wecomToken, "encoding_aes_key": aesKey})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/v1/wecom/config", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("PUT /v1/wecom/config: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT /v1/wecom/config: status %d: %.200s", resp.StatusCode, b)
	}
	return nil
}

// callback is one sealed WeCom callback: its signed URL and its body.
type callback struct {
	url  string
	body []byte
}

// sealCallbacks builds n add_external_contact callbacks of distinct
// contacts and reps, created at now, each encrypted anew and signed at now
// with its own nonce, as WeCom delivers them to url.
func sealCallbacks(c *sealer, target string, n int, now time.Time) ([]callback, error) {
	stamp := strconv.FormatInt(now.Unix(), 10)
	calls := make([]callback, n)
	for i := range calls {
		msg := fmt.Sprintf("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"+
			"<CreateTime>%s</CreateTime><MsgType><![CDATA[event]]></MsgType>"+
			"<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[add_external_contact]]></ChangeType>"+
			"<UserID><![CDATA[rep%04d]]></UserID><ExternalUserID><![CDATA[wmbench%08d]]></ExternalUserID>"+
			"<State><![CDATA[bench]]></State><WelcomeCode><![CDATA[WELCOME%08d]]></WelcomeCode></xml>",
			wecomCorpID, stamp, i%1000, i, i)
		enc, err := c.encrypt([]byte(msg))
		if err != nil {
			return nil, err
		}
		nonce := "n" + strconv.Itoa(i)
		q := url.Values{"msg_signature": {c.sign(stamp, nonce, enc)}, "timestamp": {stamp}, "nonce": {nonce}}
		body := "<xml><ToUserName><![CDATA[" + wecomCorpID + "]]></ToUserName><Encrypt><![CDATA[" + enc +
			"]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>"
		calls[i] = callback{url: target + "?" + q.Encode(), body: []byte(body)}
	}
	return calls, nil
}

// post delivers the callback and checks that it was answered 200 "success".
func (cb callback) post(ctx context.Context, hc *http.Client) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cb.url, bytes.NewReader(cb.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK || string(b) != "success" {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
	}
	return nil
}

// sealer encrypts and signs callbacks as WeCom's servers do (WeCom's
// callback protocol, "加解密方案"): the harness is WeCom here, and needs no
// code of Siyu's to be it.
type sealer struct {
	token, receiveID string
	block            cipher.Block
	iv               []byte
}

// newSealer takes the app's Token, EncodingAESKey (43 characters of
// base64 without its "=") and corp id.
func newSealer(token, encodingAESKey, receiveID string) (*sealer, error) {
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("EncodingAESKey: want 43 characters of base64")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &sealer{token: token, receiveID: receiveID, block: block, iv: key[:aes.BlockSize]}, nil
}

// encrypt returns base64 of AES-256-CBC over 16 random bytes, the message
// length (4 bytes, big-endian), the message and the receive id, padded
// PKCS#7-style to 32-byte blocks.
func (s *sealer) encrypt(msg []byte) (string, error) {
	const prefix, block = 16, 32
	n := prefix + 4 + len(msg) + len(s.receiveID)
	pad := block - n%block
	buf := make([]byte, n+pad)
	if _, err := rand.Read(buf[:prefix]); err != nil {
		return "", err
	}
	binary.BigEndian.PutUint32(buf[prefix:], uint32(len(msg)))
	copy(buf[prefix+4:], msg)
	copy(buf[prefix+4+len(msg):], s.receiveID)
	for i := n; i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(s.block, s.iv).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// sign is msg_signature: hex SHA-1 of the token, timestamp, nonce and
// payload, sorted and concatenated.
func (s *sealer) sign(timestamp, nonce, encrypt string) string {
	parts := []string{s.token, timestamp, nonce, encrypt}
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}
