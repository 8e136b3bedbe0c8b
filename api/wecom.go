package api

import (
	"errors"
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

// wecomConfigRequest is the body of PUT /v1/wecom/config.
type wecomConfigRequest struct {
	CorpID         string `json:"corp_id"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encoding_aes_key"`
}

// wecomConfigResponse shows a tenant's settings without the secrets.
type wecomConfigResponse struct {
	Tenant            string    `json:"tenant"`
	CorpID            string    `json:"corp_id"`
	TokenSet          bool      `json:"token_set"`
	EncodingAESKeySet bool      `json:"encoding_aes_key_set"`
	UpdatedAt         time.Time `json:"updated_at"`
	CallbackPath      string    `json:"callback_path"`
}

func newWeComConfigResponse(tenant string, st wecom.Status) wecomConfigResponse {
	return wecomConfigResponse{Tenant: tenant, CorpID: st.CorpID, TokenSet: st.TokenSet,
		EncodingAESKeySet: st.EncodingAESKeySet, UpdatedAt: st.UpdatedAt.UTC(), CallbackPath: "/wecom/callback/" + tenant}
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
	if err := decodeBody(c, &req, `send {"corp_id", "token", "encoding_aes_key"} as JSON`); err != nil {
		return err
	}
	st, err := s.WeCom.SaveConfig(ctxOf(c), tenant, wecom.Config{
		CorpID: req.CorpID, Token: req.Token, EncodingAESKey: req.EncodingAESKey})
	if err != nil {
		return err
	}
	return c.JSON(newWeComConfigResponse(tenant, st))
}

// getWeComConfig shows the tenant's settings: the corp id, and whether the
// secrets are set, never their values.
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
