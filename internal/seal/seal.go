// Package seal encrypts sensitive fields (answers, free text, contact details,
// case details) with AES-256-GCM. Each sealed value carries the id of the key
// that sealed it, so keys can be rotated, and is bound to its record by
// additional data, so a value copied to another row does not open.
//
// It imports only the standard library.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of a data key in bytes.
const KeySize = 32

// ErrOpen is returned when a sealed value cannot be opened: a wrong key, a
// tampered value, or a value moved to another record.
var ErrOpen = errors.New("sealed value cannot be opened with this key")

// Sealer seals with its current key and opens with any key it holds.
type Sealer struct {
	current string
	aeads   map[string]cipher.AEAD
}

// New returns a sealer whose current key is the first of keys; the others
// (older keys) are only used to open.
func New(keys ...[]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("no data key")
	}
	s := &Sealer{aeads: map[string]cipher.AEAD{}}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("data key is %d bytes; want %d", len(k), KeySize)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := KeyID(k)
		s.aeads[id] = aead
		if i == 0 {
			s.current = id
		}
	}
	return s, nil
}

// KeyID names a key without revealing it: the first 8 hex digits of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("intakebot key id\x00"), key...))
	return hex.EncodeToString(sum[:4])
}

// CurrentKeyID is the id of the key new values are sealed with.
func (s *Sealer) CurrentKeyID() string { return s.current }

// Seal encrypts plaintext bound to ad and returns "keyid:base64(nonce|ciphertext)".
func (s *Sealer) Seal(plaintext, ad []byte) (string, error) {
	aead := s.aeads[s.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	out := aead.Seal(nonce, nonce, plaintext, ad)
	return s.current + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal with the same ad.
func (s *Sealer) Open(sealed string, ad []byte) ([]byte, error) {
	id, body, ok := strings.Cut(sealed, ":")
	if !ok {
		return nil, fmt.Errorf("%w: malformed value", ErrOpen)
	}
	aead := s.aeads[id]
	if aead == nil {
		return nil, fmt.Errorf("%w: sealed with key %s, which is not loaded", ErrOpen, id)
	}
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil || len(raw) < aead.NonceSize() {
		return nil, fmt.Errorf("%w: malformed value", ErrOpen)
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// ParseKey decodes a base64 key (standard or URL alphabet, padded or not).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("data key decodes to %d bytes; want %d (generate one with: head -c 32 /dev/urandom | base64)", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, errors.New("data key is not valid base64 (generate one with: head -c 32 /dev/urandom | base64)")
}

// NewKey returns a random key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return k
}

// LoadKeyFile reads a base64 key file. With create set and no file there, it
// writes a new random key with mode 0600 and reports created.
func LoadKeyFile(path string, create bool) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("key file %s: %w", path, err)
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			return nil, false, fmt.Errorf("key file %s is readable by other users (mode %v); run: chmod 600 %s", path, fi.Mode().Perm(), path)
		}
		return k, false, nil
	case !errors.Is(err, fs.ErrNotExist) || !create:
		return nil, false, fmt.Errorf("key file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("key file dir: %w", err)
	}
	k := NewKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create key file: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("write key file: %w", err)
	}
	return k, true, nil
}
