package wecom

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Envelope is the body WeCom POSTs: <xml> with the encrypted message in
// Encrypt, next to ToUserName and AgentID in the clear. Only Encrypt is
// signed, so only Encrypt is read.
type Envelope struct {
	XMLName xml.Name `xml:"xml"`
	Encrypt string   `xml:"Encrypt"`
}

// ErrEnvelope means a POST body is not WeCom's <xml><Encrypt>… envelope.
var ErrEnvelope = errors.New("the body must be WeCom's XML envelope with an Encrypt element")

// ParseEnvelope reads a POST body. WeCom's own form (Encrypt as one CDATA
// section of base64) is read directly: encoding/xml would spend as long on
// the payload, byte by byte, as on the whole decrypted message. Any other
// form goes through encoding/xml. Either way, what is read must then carry
// WeCom's signature.
func ParseEnvelope(body []byte) (Envelope, error) {
	if enc, ok := weComEncrypt(body); ok {
		return Envelope{Encrypt: enc}, nil
	}
	var env Envelope
	if err := unmarshalXML(body, &env); err != nil {
		return Envelope{}, fmt.Errorf("%w: %w", ErrEnvelope, err)
	}
	env.Encrypt = strings.TrimSpace(env.Encrypt)
	if env.Encrypt == "" {
		return Envelope{}, ErrEnvelope
	}
	return env, nil
}

// weComEncrypt finds <Encrypt><![CDATA[base64]]></Encrypt> in an <xml>
// document, when it is there exactly once.
func weComEncrypt(body []byte) (string, bool) {
	const open, end = "<Encrypt><![CDATA[", "]]></Encrypt>"
	if !bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("<xml>")) {
		return "", false
	}
	i := bytes.Index(body, []byte(open))
	if i < 0 {
		return "", false
	}
	rest := body[i+len(open):]
	j := bytes.Index(rest, []byte(end))
	if j <= 0 || bytes.Contains(rest[j:], []byte("<Encrypt")) || bytes.Contains(body[:i], []byte("<!--")) {
		return "", false
	}
	for _, c := range rest[:j] {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return "", false
		}
	}
	return string(rest[:j]), true
}

// Message is a decrypted callback: the union of the fields WeCom sends for
// customer (change_external_contact), tag (change_external_tag) and group
// chat (change_external_chat) events, for a self-built app (Event,
// CreateTime) and for a third-party suite (InfoType, TimeStamp). Numbers are
// kept as text and read by the mapping: a malformed number must not make the
// whole message unreadable.
type Message struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string   `xml:"ToUserName"`
	FromUserName string   `xml:"FromUserName"`
	CreateTime   string   `xml:"CreateTime"`
	MsgType      string   `xml:"MsgType"`
	Event        string   `xml:"Event"`

	// A third-party suite's callbacks name the kind InfoType and the time
	// TimeStamp; AuthCorpId is the authorising corp.
	InfoType   string `xml:"InfoType"`
	TimeStamp  string `xml:"TimeStamp"`
	SuiteID    string `xml:"SuiteId"`
	AuthCorpID string `xml:"AuthCorpId"`

	ChangeType string `xml:"ChangeType"`

	// change_external_contact
	UserID         string `xml:"UserID"`
	ExternalUserID string `xml:"ExternalUserID"`
	State          string `xml:"State"`
	WelcomeCode    string `xml:"WelcomeCode"`
	Source         string `xml:"Source"`
	FailReason     string `xml:"FailReason"`

	// change_external_tag
	ID         string `xml:"Id"`
	TagType    string `xml:"TagType"`
	StrategyID string `xml:"StrategyId"`

	// change_external_chat
	ChatID        string   `xml:"ChatId"`
	UpdateDetail  string   `xml:"UpdateDetail"`
	JoinScene     string   `xml:"JoinScene"`
	QuitScene     string   `xml:"QuitScene"`
	MemChangeCnt  string   `xml:"MemChangeCnt"`
	MemChangeList []string `xml:"MemChangeList>Item"`
	LastMemVer    string   `xml:"LastMemVer"`
	CurMemVer     string   `xml:"CurMemVer"`
}

// ErrMessage means a decrypted message is not a WeCom XML message.
var ErrMessage = errors.New("the decrypted message is not WeCom XML")

// ParseMessage reads a decrypted callback.
func ParseMessage(b []byte) (*Message, error) {
	m := &Message{}
	if err := unmarshalXML(b, m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMessage, err)
	}
	m.trim()
	return m, nil
}

// unmarshalXML reads one <xml> document. It refuses a DOCTYPE: WeCom never
// sends one, and refusing it keeps entity tricks out.
func unmarshalXML(b []byte, v any) error {
	if bytes.Contains(b, []byte("<!DOCTYPE")) || bytes.Contains(b, []byte("<!ENTITY")) {
		return errors.New("a DOCTYPE is not allowed")
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	return d.Decode(v)
}

// trim drops the white space WeCom's pretty-printed samples put around values.
func (m *Message) trim() {
	for _, p := range []*string{&m.ToUserName, &m.FromUserName, &m.CreateTime, &m.MsgType, &m.Event,
		&m.InfoType, &m.TimeStamp, &m.SuiteID, &m.AuthCorpID, &m.ChangeType, &m.UserID,
		&m.ExternalUserID, &m.State, &m.WelcomeCode, &m.Source, &m.FailReason, &m.ID, &m.TagType,
		&m.StrategyID, &m.ChatID, &m.UpdateDetail, &m.JoinScene, &m.QuitScene, &m.MemChangeCnt,
		&m.LastMemVer, &m.CurMemVer} {
		*p = strings.TrimSpace(*p)
	}
	for i := range m.MemChangeList {
		m.MemChangeList[i] = strings.TrimSpace(m.MemChangeList[i])
	}
}

// Kind names what the message is about: the Event (or InfoType, or for a
// plain message its MsgType), then "/" and the ChangeType when there is one,
// e.g. "change_external_contact/add_external_contact".
func (m *Message) Kind() string {
	k := m.Event
	if k == "" {
		k = m.InfoType
	}
	if k == "" {
		k = m.MsgType
	}
	if k == "" {
		k = "unknown"
	}
	if m.ChangeType != "" {
		k += "/" + m.ChangeType
	}
	return k
}

// unixTime is when WeCom says the event happened, in Unix seconds: the
// CreateTime of an app callback or the TimeStamp of a suite's; 0 if neither.
func (m *Message) unixTime() int64 {
	for _, s := range []string{m.CreateTime, m.TimeStamp} {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 0
}
