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
	"crypto/hmac"
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
	// hashKeys are derived from each key for Hash, so a lookup hash
	// never uses the sealing key itself.
	hashKeys map[string][]byte
}

// New returns a sealer whose current key is the first of keys; the others
// (older keys) are only used to open.
func New(keys ...[]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("no data key")
	}
	s := &Sealer{aeads: map[string]cipher.AEAD{}, hashKeys: map[string][]byte{}}
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
		m := hmac.New(sha256.New, k)
		m.Write([]byte("intakebot lookup hash v1"))
		s.hashKeys[id] = m.Sum(nil)
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

// Hash returns a keyed hash of msg under the current key, "keyid:hex": a
// stable name for a value (a patient's chat user id) that can be looked up
// without being stored, and that only the key's holder can compute.
func (s *Sealer) Hash(msg []byte) string { return s.hash(s.current, msg) }

// Hashes returns msg's hash under every key the sealer holds, the current
// key's first, to find a value hashed before a key rotation.
func (s *Sealer) Hashes(msg []byte) []string {
	out := []string{s.Hash(msg)}
	for id := range s.hashKeys {
		if id != s.current {
			out = append(out, s.hash(id, msg))
		}
	}
	return out
}

func (s *Sealer) hash(id string, msg []byte) string {
	m := hmac.New(sha256.New, s.hashKeys[id])
	m.Write(msg)
	return id + ":" + hex.EncodeToString(m.Sum(nil))
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
//
// The key appears at path whole or not at all: it is written to a temporary
// file in the same directory, synced, and then linked to path, which fails if
// path exists. So a crash never leaves a partial key, and of several processes
// starting at once exactly one creates the key and the others read it (a rename
// would let a later process replace a key an earlier one already used). An
// empty file at path, which a crash of an older intakebot could leave, is
// replaced when create is set: nothing can have been sealed with it.
func LoadKeyFile(path string, create bool) (key []byte, created bool, err error) {
	keys, created, err := LoadKeys(path, create)
	if err != nil {
		return nil, false, err
	}
	return keys[0], created, nil
}

// LoadKeys is LoadKeyFile for a key file that may hold several keys, one
// per line: the first seals, the others (older keys, during a rotation)
// only open. See LoadKeyFile.
func LoadKeys(path string, create bool) (keys [][]byte, created bool, err error) {
	for attempt := 0; ; attempt++ {
		b, err := os.ReadFile(path)
		switch {
		case err == nil && len(b) == 0 && create && attempt == 0:
			// Left by a crash while writing it: remove and create it again.
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, false, fmt.Errorf("key file %s is empty and cannot be removed: %w", path, err)
			}
		case err == nil:
			var ks [][]byte
			for i, line := range strings.Split(string(b), "\n") {
				if strings.TrimSpace(line) == "" {
					continue
				}
				k, err := ParseKey(line)
				if err != nil {
					return nil, false, fmt.Errorf("key file %s, line %d: %w", path, i+1, err)
				}
				ks = append(ks, k)
			}
			if len(ks) == 0 {
				return nil, false, fmt.Errorf("key file %s: %w", path, errors.New("it holds no key"))
			}
			if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
				return nil, false, fmt.Errorf("key file %s is readable by other users (mode %v); run: chmod 600 %s", path, fi.Mode().Perm(), path)
			}
			return ks, false, nil
		case !errors.Is(err, fs.ErrNotExist) || !create:
			return nil, false, fmt.Errorf("key file: %w", err)
		}
		k, err := createKeyFile(path)
		if errors.Is(err, fs.ErrExist) && attempt < 3 {
			continue // another process created it first: read theirs
		}
		if err != nil {
			return nil, false, err
		}
		return [][]byte{k}, true, nil
	}
}

// createKeyFile writes a new key to path atomically; fs.ErrExist means
// another process did first.
func createKeyFile(path string) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("key file dir: %w", err)
	}
	k := NewKey()
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if err := SyncDir(dir); err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	return k, nil
}

// WriteKeys replaces the key file at path with keys, one per line, the
// first being the one that seals. The file is replaced whole (a temporary
// file, synced, renamed over it, the directory synced), so a crash leaves
// the old file or the new one, and the new one is on disk before anything
// is sealed with its first key.
func WriteKeys(path string, keys [][]byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	return nil
}

// SyncDir flushes a directory, so a file just linked or renamed into it
// survives a power cut.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
