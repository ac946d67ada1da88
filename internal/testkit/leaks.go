package testkit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/intakebot/intakebot/internal/seal"
)

// A sealed value as seal writes it: an 8-hex-digit key id, a colon and
// base64 (no padding). What follows a value in a page may happen to be
// base64 too, so shorter prefixes of each match are tried as well.
var sealedRE = regexp.MustCompile(`[0-9a-f]{8}:[A-Za-z0-9+/]{38,}`)

// maxTrailing is how many trailing characters of a match are tried off.
const maxTrailing = 96

// Scan is what an attacker holding the data key finds in some files.
type Scan struct {
	// Opened counts the sealed values, anywhere in the bytes, that the key
	// opens with one of the additional data tried.
	Opened int
	// Found lists each canary seen, in plaintext or inside an opened value,
	// with the file it was in.
	Found []string
}

// ScanFiles reads every byte of every regular file under dir (the database,
// its -wal and -shm, logs) looking for canaries in plaintext, and opens every
// sealed value it can find with sl, trying each of ads (the record bindings
// the values may have been sealed with), looking for canaries inside.
func ScanFiles(dir string, sl *seal.Sealer, ads [][]byte, canaries []string) (Scan, error) {
	var out Scan
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		name := filepath.Base(path)
		for _, c := range canaries {
			if bytes.Contains(b, []byte(c)) {
				out.Found = append(out.Found, fmt.Sprintf("%s: %q in plaintext", name, c))
			}
		}
		for _, m := range sealedRE.FindAll(b, -1) {
			plain, ok := open(sl, m, ads)
			if !ok {
				continue
			}
			out.Opened++
			for _, c := range canaries {
				if bytes.Contains(plain, []byte(c)) {
					out.Found = append(out.Found, fmt.Sprintf("%s: %q in a sealed value the key opens", name, c))
				}
			}
		}
		return nil
	})
	return out, err
}

func open(sl *seal.Sealer, m []byte, ads [][]byte) ([]byte, bool) {
	for cut := len(m); cut >= len(m)-maxTrailing && cut > 9+38; cut-- {
		for _, ad := range ads {
			if plain, err := sl.Open(string(m[:cut]), ad); err == nil {
				return plain, true
			}
		}
	}
	return nil, false
}
