package wecom

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // WeCom's signature is SHA-1; we do not choose it
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// WeCom's block size for PKCS#7 padding: 32 bytes, not AES's 16.
const padBlock = 32

// randomPrefix is the length of the random bytes before a message.
const randomPrefix = 16

// Errors of the crypto layer. The Receiver turns them into refusals.
var (
	ErrSignature = errors.New("msg_signature does not match")
	ErrDecrypt   = errors.New("cannot decrypt: not a WeCom ciphertext for this EncodingAESKey")
	ErrReceiveID = errors.New("the message is for another receive id (corp id)")
)

// Crypter signs, verifies, encrypts and decrypts the callbacks of one WeCom
// app: the WXBizMsgCrypt scheme. It is safe for concurrent use.
type Crypter struct {
	token     string
	receiveID string
	block     cipher.Block
	iv        []byte
}

// NewCrypter returns the Crypter of an app with the given Token and
// EncodingAESKey (43 characters of base64) whose receive id (the corp id of
// a self-built app) must end every plaintext.
func NewCrypter(token, encodingAESKey, receiveID string) (*Crypter, error) {
	key, err := aesKey(encodingAESKey)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes key: %w", err)
	}
	return &Crypter{token: token, receiveID: receiveID, block: block, iv: key[:aes.BlockSize]}, nil
}

// aesKey decodes an EncodingAESKey: base64 of 32 bytes without its "=".
func aesKey(encodingAESKey string) ([]byte, error) {
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("EncodingAESKey must be 43 characters, got %d", len(encodingAESKey))
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("EncodingAESKey must be base64 (A–Z, a–z, 0–9, +, /)")
	}
	return key, nil
}

// Signature is WeCom's msg_signature: the hex SHA-1 of the four strings,
// sorted and concatenated.
func Signature(token, timestamp, nonce, encrypt string) string {
	var sum [sha1.Size]byte
	signature(&sum, token, timestamp, nonce, encrypt)
	return hex.EncodeToString(sum[:])
}

func signature(sum *[sha1.Size]byte, token, timestamp, nonce, encrypt string) {
	parts := [4]string{token, timestamp, nonce, encrypt}
	// Insertion sort: four strings, no allocation.
	for i := 1; i < len(parts); i++ {
		for j := i; j > 0 && parts[j] < parts[j-1]; j-- {
			parts[j], parts[j-1] = parts[j-1], parts[j]
		}
	}
	h := sha1.New() //nolint:gosec // see import
	for _, p := range parts {
		_, _ = io.WriteString(h, p)
	}
	h.Sum(sum[:0])
}

// Verify checks msg_signature over timestamp, nonce and the encrypted
// payload, in constant time.
func (c *Crypter) Verify(msgSignature, timestamp, nonce, encrypt string) error {
	var sum [sha1.Size]byte
	signature(&sum, c.token, timestamp, nonce, encrypt)
	var want [2 * sha1.Size]byte
	hex.Encode(want[:], sum[:])
	if subtle.ConstantTimeCompare(want[:], []byte(msgSignature)) != 1 {
		return ErrSignature
	}
	return nil
}

// Sign returns the msg_signature WeCom would send with encrypt.
func (c *Crypter) Sign(timestamp, nonce, encrypt string) string {
	return Signature(c.token, timestamp, nonce, encrypt)
}

// Decrypt opens an encrypted payload (base64 of AES-256-CBC) and returns the
// message. The plaintext is 16 random bytes, the message length (4 bytes,
// big-endian), the message and the receive id, which must be this app's.
func (c *Crypter) Decrypt(encrypt string) ([]byte, error) {
	buf, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil || len(buf) < padBlock || len(buf)%aes.BlockSize != 0 {
		return nil, ErrDecrypt
	}
	cipher.NewCBCDecrypter(c.block, c.iv).CryptBlocks(buf, buf)
	plain, ok := unpad(buf)
	if !ok || len(plain) < randomPrefix+4 {
		return nil, ErrDecrypt
	}
	n := binary.BigEndian.Uint32(plain[randomPrefix:])
	rest := plain[randomPrefix+4:]
	if uint64(n) > uint64(len(rest)) {
		return nil, ErrDecrypt
	}
	if string(rest[n:]) != c.receiveID {
		return nil, ErrReceiveID
	}
	return rest[:n:n], nil
}

// unpad strips PKCS#7 padding to 32-byte blocks.
func unpad(b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	pad := int(b[len(b)-1])
	if pad < 1 || pad > padBlock || pad > len(b) {
		return nil, false
	}
	if !bytes.Equal(b[len(b)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, false
	}
	return b[:len(b)-pad], true
}

// Encrypt seals msg as WeCom does, with 16 random bytes read from random
// (crypto/rand when nil): the form of passive replies, and of the callbacks
// that tests send.
func (c *Crypter) Encrypt(random io.Reader, msg []byte) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	n := randomPrefix + 4 + len(msg) + len(c.receiveID)
	pad := padBlock - n%padBlock
	buf := make([]byte, n+pad)
	if _, err := io.ReadFull(random, buf[:randomPrefix]); err != nil {
		return "", fmt.Errorf("random prefix: %w", err)
	}
	binary.BigEndian.PutUint32(buf[randomPrefix:], uint32(len(msg)))
	copy(buf[randomPrefix+4:], msg)
	copy(buf[randomPrefix+4+len(msg):], c.receiveID)
	for i := n; i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(c.block, c.iv).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}
