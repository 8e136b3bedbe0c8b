package wecom_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/event"
	"github.com/siyu-dev/siyu/wecom"
)

// FuzzDecrypt feeds arbitrary payloads to the decryption: it must never
// panic, and whatever it opens must seal and open again to the same message.
func FuzzDecrypt(f *testing.F) {
	v := loadVectors(f)
	cr, err := wecom.NewCrypter(v.Token, v.EncodingAESKey, v.ReceiveID)
	require.NoError(f, err)
	f.Add(v.VerifyURL.EchoStr)
	f.Add(v.DecryptMsg.Encrypt)
	f.Add("")
	f.Add("AAAA")
	f.Add(v.DecryptMsg.Encrypt[:64])
	f.Fuzz(func(t *testing.T, encrypt string) {
		msg, err := cr.Decrypt(encrypt)
		if err != nil {
			return
		}
		again, err := cr.Encrypt(nil, msg)
		require.NoError(t, err)
		back, err := cr.Decrypt(again)
		require.NoError(t, err)
		require.Equal(t, msg, back)
	})
}

// FuzzPlaintext encrypts arbitrary plaintexts under the vectors' key, so
// that the parsing after AES (padding, length, receive id) sees every shape:
// it must never panic, and what it accepts must be what was sealed.
func FuzzPlaintext(f *testing.F) {
	v := loadVectors(f)
	cr, err := wecom.NewCrypter(v.Token, v.EncodingAESKey, v.ReceiveID)
	require.NoError(f, err)
	key, err := base64.StdEncoding.DecodeString(v.EncodingAESKey + "=")
	require.NoError(f, err)
	block, err := aes.NewCipher(key)
	require.NoError(f, err)
	seal := func(msg []byte, pad int) []byte {
		p := append(bytes.Repeat([]byte{'r'}, 16), 0, 0, 0, byte(len(msg)))
		p = append(append(p, msg...), v.ReceiveID...)
		return append(p, bytes.Repeat([]byte{byte(pad)}, pad)...)
	}
	f.Add(seal([]byte("<xml/>"), 14))
	f.Add(seal(nil, 12))
	f.Add(seal([]byte("x"), 32))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, plain []byte) {
		buf := append([]byte(nil), plain...)
		for len(buf)%aes.BlockSize != 0 || len(buf) == 0 {
			buf = append(buf, 0)
		}
		cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(buf, buf)
		msg, err := cr.Decrypt(base64.StdEncoding.EncodeToString(buf))
		if err != nil {
			return
		}
		require.True(t, len(plain) >= 20+len(msg)+len(v.ReceiveID))
		require.Equal(t, plain[20:20+len(msg)], msg)
	})
}

// FuzzParse feeds arbitrary decrypted messages to parsing and mapping: they
// must never panic, and what they accept must be a valid event.
func FuzzParse(f *testing.F) {
	for _, tc := range mappingCases {
		f.Add([]byte(tc.xml))
	}
	f.Add([]byte(loadVectors(f).DecryptMsg.Plaintext))
	f.Add([]byte("<xml></xml>"))
	f.Add([]byte("<xml><CreateTime>-1</CreateTime><Event>change_external_chat</Event><ChangeType>update</ChangeType><ChatId>c</ChatId><UpdateDetail>x</UpdateDetail><MemChangeList><Item>\x01</Item></MemChangeList></xml>"))
	dec := event.NewDecoder(func() time.Time { return mappingNow })
	check := event.NewDecoder(func() time.Time { return mappingNow })
	f.Fuzz(func(t *testing.T, msg []byte) {
		out, value, err := wecom.Build(nil, msg, mappingOrigin, dec)
		if err != nil {
			require.ErrorIs(t, err, wecom.ErrMessage)
			return
		}
		ev, err := check.Decode(value)
		require.NoError(t, err, "%s", value)
		require.Equal(t, out.Event.ID, ev.ID)
		require.Equal(t, wecom.EventID(mappingOrigin.CorpID, msg), ev.ID)
	})
}

// FuzzEnvelope feeds arbitrary POST bodies to the envelope parser.
func FuzzEnvelope(f *testing.F) {
	f.Add([]byte("<xml><ToUserName><![CDATA[ww1]]></ToUserName><Encrypt><![CDATA[AAAA]]></Encrypt></xml>"))
	f.Add([]byte("<xml><Encrypt>x</Encrypt><Encrypt>y</Encrypt></xml>"))
	f.Add([]byte("<xml/>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := wecom.ParseEnvelope(body)
		if err == nil {
			require.NotEmpty(t, env.Encrypt)
		}
	})
}
