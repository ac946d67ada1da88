package seal_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/intakebot/intakebot/internal/seal"
)

func TestSealOpen(t *testing.T) {
	s, err := seal.New(seal.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Seal([]byte("555-123-4567"), []byte("answer:1"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v, "555") {
		t.Fatalf("sealed value %q contains plaintext", v)
	}
	got, err := s.Open(v, []byte("answer:1"))
	if err != nil || string(got) != "555-123-4567" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	t.Run("OtherRecordDoesNotOpen", func(t *testing.T) {
		if _, err := s.Open(v, []byte("answer:2")); !errors.Is(err, seal.ErrOpen) {
			t.Fatalf("err = %v, want ErrOpen", err)
		}
	})
	t.Run("WrongKeyDoesNotOpen", func(t *testing.T) {
		other, _ := seal.New(seal.NewKey())
		if _, err := other.Open(v, []byte("answer:1")); !errors.Is(err, seal.ErrOpen) {
			t.Fatalf("err = %v, want ErrOpen", err)
		}
	})
	t.Run("TamperedDoesNotOpen", func(t *testing.T) {
		b := []byte(v)
		b[len(b)-2] ^= 1
		if _, err := s.Open(string(b), []byte("answer:1")); !errors.Is(err, seal.ErrOpen) {
			t.Fatalf("err = %v, want ErrOpen", err)
		}
	})
	t.Run("OldKeyStillOpensAfterRotation", func(t *testing.T) {
		old := seal.NewKey()
		s1, _ := seal.New(old)
		v1, _ := s1.Seal([]byte("x"), nil)
		s2, _ := seal.New(seal.NewKey(), old)
		if got, err := s2.Open(v1, nil); err != nil || string(got) != "x" {
			t.Fatalf("Open after rotation = %q, %v", got, err)
		}
	})
}

func TestParseKey(t *testing.T) {
	k := seal.NewKey()
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		got, err := seal.ParseKey(" " + enc.EncodeToString(k) + "\n")
		if err != nil || string(got) != string(k) {
			t.Errorf("ParseKey(%v) = %v", enc, err)
		}
	}
	if _, err := seal.ParseKey("not base64!"); err == nil || !strings.Contains(err.Error(), "base64") {
		t.Errorf("bad base64: err = %v", err)
	}
	if _, err := seal.ParseKey(base64.StdEncoding.EncodeToString([]byte("short"))); err == nil || !strings.Contains(err.Error(), "32") {
		t.Errorf("short key: err = %v", err)
	}
}

func TestLoadKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "data.key")
	if _, _, err := seal.LoadKeyFile(path, false); err == nil {
		t.Fatal("missing key file without create: no error")
	}
	k1, created, err := seal.LoadKeyFile(path, true)
	if err != nil || !created {
		t.Fatalf("create: created=%v err=%v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	k2, created, err := seal.LoadKeyFile(path, true)
	if err != nil || created || string(k1) != string(k2) {
		t.Fatalf("reload: created=%v err=%v same=%v", created, err, string(k1) == string(k2))
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := seal.LoadKeyFile(path, true); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key file: err = %v", err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := seal.LoadKeyFile(path, true); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("corrupt key file: err = %v", err)
	}
}

func TestKeyFileCreatedOnceByConcurrentStarts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data.key")
	const n = 20
	keys := make([][]byte, n)
	errs := make([]error, n)
	createdBy := make([]bool, n)
	var wg sync.WaitGroup
	start := make(chan struct{}) // released together, as processes started at once
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			keys[i], createdBy[i], errs[i] = seal.LoadKeyFile(path, true)
		}()
	}
	close(start)
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("start %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("start %d got another key than start 0", i)
		}
		if createdBy[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("%d starts say they created the key; want 1", creators)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("data dir holds %d files after creating the key; want only data.key", len(ents))
	}
}

func TestEmptyKeyFileFromACrashIsReplacedOnlyWhenCreating(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.key")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := seal.LoadKeyFile(path, false); err == nil {
		t.Fatal("empty key file without create: no error")
	}
	k, created, err := seal.LoadKeyFile(path, true)
	if err != nil || !created || len(k) != seal.KeySize {
		t.Fatalf("empty key file with create: created=%v err=%v", created, err)
	}
	again, _, err := seal.LoadKeyFile(path, false)
	if err != nil || !bytes.Equal(again, k) {
		t.Fatalf("reading the new key: %v", err)
	}
}

func TestHashIsKeyedAndStable(t *testing.T) {
	k1, k2 := seal.NewKey(), seal.NewKey()
	a, _ := seal.New(k1)
	b, _ := seal.New(k2)
	rotated, _ := seal.New(k2, k1)
	msg := []byte("discord\x00123456789")
	if a.Hash(msg) != a.Hash(msg) {
		t.Fatal("hash is not stable")
	}
	if a.Hash(msg) == b.Hash(msg) {
		t.Fatal("two keys give the same hash")
	}
	if strings.Contains(a.Hash(msg), "123456789") {
		t.Fatal("hash shows the value")
	}
	hs := rotated.Hashes(msg)
	if len(hs) != 2 || hs[0] != b.Hash(msg) || hs[1] != a.Hash(msg) {
		t.Fatalf("hashes after rotation = %v; want the new key's, then the old key's", hs)
	}
}
