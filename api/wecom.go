package api

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/wecom"
)

// WeCom's callbacks carry no API key: the signature over the encrypted
// payload, keyed by the tenant's Token, authenticates them (wecom/).

// wecomVerify answers WeCom's URL verification with the decrypted echostr.
func (s *wecomGroup) wecomVerify(c *fiber.Ctx) error {
	plain, err := s.WeCom.VerifyURL(ctxOf(c), strings.Clone(c.Params("tenant")), wecomParams(c))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.Send(plain)
}

// wecomCallback stores one callback as an event in Kafka, then answers
// "success"; any error makes WeCom retry (up to three times).
func (s *wecomGroup) wecomCallback(c *fiber.Ctx) error {
	// The raw body: Fiber's Body() would inflate a compressed one past the limit.
	body := c.Request().Body()
	if _, err := s.WeCom.Receive(ctxOf(c), strings.Clone(c.Params("tenant")), wecomParams(c), body); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.SendString("success")
}

func wecomParams(c *fiber.Ctx) wecom.Params {
	return wecom.Params{
		MsgSignature: strings.Clone(c.Query("msg_signature")),
		Timestamp:    strings.Clone(c.Query("timestamp")),
		Nonce:        strings.Clone(c.Query("nonce")),
		EchoStr:      strings.Clone(c.Query("echostr")),
	}
}

// wecomConfigRequest is the body of PUT /v1/wecom/config. The app's
// agent_id and secret are optional: left out (or 0 and ""), the stored
// ones of the same corp are kept, so the secret need not be sent again.
type wecomConfigRequest struct {
	CorpID         string `json:"corp_id"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encoding_aes_key"`
	AgentID        int64  `json:"agent_id"`
	Secret         string `json:"secret"`
}

// wecomConfigResponse shows a tenant's settings without the secrets.
type wecomConfigResponse struct {
	Tenant            string    `json:"tenant"`
	CorpID            string    `json:"corp_id"`
	TokenSet          bool      `json:"token_set"`
	EncodingAESKeySet bool      `json:"encoding_aes_key_set"`
	AgentID           int64     `json:"agent_id"`
	SecretSet         bool      `json:"secret_set"`
	UpdatedAt         time.Time `json:"updated_at"`
	CallbackPath      string    `json:"callback_path"`
}

func newWeComConfigResponse(tenant string, st wecom.Status) wecomConfigResponse {
	return wecomConfigResponse{Tenant: tenant, CorpID: st.CorpID, TokenSet: st.TokenSet,
		EncodingAESKeySet: st.EncodingAESKeySet, AgentID: st.AgentID, SecretSet: st.SecretSet,
		UpdatedAt: st.UpdatedAt.UTC(), CallbackPath: "/wecom/callback/" + tenant}
}

// putWeComConfig sets the tenant's WeCom app settings. Admins only: the
// settings decide whose callbacks become the tenant's events. They are kept
// in ClickHouse, not sent to Kafka: the event log must not hold secrets.
func (s *wecomGroup) putWeComConfig(c *fiber.Ctx) error {
	if err := allow(c, auth.RoleAdmin, auth.RolePlatform); err != nil {
		return err
	}
	tenant, err := tenantOf(c)
	if err != nil {
		return err
	}
	var req wecomConfigRequest
	if err := decodeBody(c, &req, `send {"corp_id", "token", "encoding_aes_key", and optionally "agent_id", "secret"} as JSON`); err != nil {
		return err
	}
	st, err := s.WeCom.SaveConfig(ctxOf(c), tenant, wecom.Config{CorpID: req.CorpID, Token: req.Token,
		EncodingAESKey: req.EncodingAESKey, AgentID: req.AgentID, Secret: req.Secret})
	if err != nil {
		return err
	}
	return c.JSON(newWeComConfigResponse(tenant, st))
}

// getWeComConfig shows the tenant's settings: the corp id, the agent id,
// and whether the secrets are set, never their values.
func (s *wecomGroup) getWeComConfig(c *fiber.Ctx) error {
	if err := allow(c, auth.RoleAdmin, auth.RolePlatform); err != nil {
		return err
	}
	tenant, err := tenantOf(c)
	if err != nil {
		return err
	}
	st, err := s.WeCom.ConfigStatus(ctxOf(c), tenant)
	if errors.Is(err, wecom.ErrNotConfigured) {
		return notFound("this tenant has no WeCom callback settings: set them with PUT /v1/wecom/config")
	}
	if err != nil {
		return err
	}
	return c.JSON(newWeComConfigResponse(tenant, st))
}

// jssdkResponse is what the sidebar passes to ww.register for one page:
// Signature for getConfigSignature (the corp's jsapi ticket),
// AgentSignature for getAgentConfigSignature (the app's).
type jssdkResponse struct {
	CorpID         string `json:"corp_id"`
	AgentID        int64  `json:"agent_id"`
	Timestamp      int64  `json:"timestamp"`
	NonceStr       string `json:"nonce_str"`
	Signature      string `json:"signature"`
	AgentSignature string `json:"agent_signature"`
}

// maxPageURL bounds the page URL to sign: a sidebar's is well under it.
const maxPageURL = 2048

// getJSSDK signs the page at ?url= for WeCom's JS-SDK, with the tenant's
// app. Anyone who may read customers may: the sidebar shows them.
func (s *jssdkGroup) getJSSDK(c *fiber.Ctx) error {
	if err := allow(c, auth.RoleAdmin, auth.RoleManager, auth.RoleRep, auth.RoleMarketer, auth.RolePlatform); err != nil {
		return err
	}
	tenant, err := tenantOf(c)
	if err != nil {
		return err
	}
	page := strings.Clone(c.Query("url"))
	if err := checkPageURL(page); err != nil {
		return err
	}
	client, _, err := s.Clients.For(ctxOf(c), tenant)
	if err != nil {
		return err
	}
	sig, err := client.Sign(ctxOf(c), page, newNonce())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(jssdkResponse{CorpID: sig.CorpID, AgentID: sig.AgentID, Timestamp: sig.Timestamp, NonceStr: sig.NonceStr,
		Signature: sig.Config, AgentSignature: sig.Agent})
}

// checkPageURL accepts the page URL as the browser's location.href has it
// (WeCom signs those exact bytes), without the fragment.
func checkPageURL(page string) error {
	switch {
	case page == "":
		return badRequest("url", "url is required: the page's location.href without the #fragment")
	case len(page) > maxPageURL:
		return badRequest("url", fmt.Sprintf("url is %d bytes, over %d", len(page), maxPageURL))
	case strings.IndexByte(page, '#') >= 0:
		return badRequest("url", "url must not hold a #fragment: WeCom signs the URL without it")
	}
	for i := 0; i < len(page); i++ {
		if page[i] <= ' ' || page[i] >= 0x7f {
			return badRequest("url", "url must be percent-encoded as location.href is: no spaces, control or non-ASCII bytes")
		}
	}
	u, err := url.Parse(page)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return badRequest("url", "url must be an absolute http(s) URL, e.g. https://siyu.example/sidebar")
	}
	return nil
}

// newNonce is a fresh nonce_str: 16 random hex digits.
func newNonce() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on Linux
	return hex.EncodeToString(b[:])
}
