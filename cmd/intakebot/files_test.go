package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestMain lets a test run this test binary as the intakebot command, in
// its own process, as a clinic's service manager would.
func TestMain(m *testing.M) {
	if os.Getenv("INTAKEBOT_TEST_AS_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// dataDir is a new data directory only its owner may use, as intakebot
// requires (t.TempDir() is 0755 under the usual umask).
func dataDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

// process returns the command line that runs intakebot args in a new process.
func process(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = []string{"INTAKEBOT_TEST_AS_MAIN=1", "HOME=" + t.TempDir()}
	return cmd
}

func TestDataDirOthersCanReadIsRefusedWithTheChmod(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	r := intakebot(t, "hi\n", nil, "chat", "--json", "--data", data)
	if r.code != 1 || !strings.Contains(r.stderr, "chmod 700 "+data) {
		t.Fatalf("chat in a 0755 data dir: exit %d, %q; want exit 1 and the chmod to run", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(data, "intakebot.db")); err == nil {
		t.Error("a database was created in the refused directory")
	}
	os.Chmod(data, 0o700)
	if r := intakebot(t, "hi\n", nil, "chat", "--json", "--data", data); r.code != 0 {
		t.Fatalf("after chmod 700: exit %d, %s", r.code, r.stderr)
	}
}

func TestEmptyDatabaseBesideItsKeyIsRefused(t *testing.T) {
	data := dataDir(t)
	if r := intakebot(t, "hi\n", nil, "chat", "--json", "--data", data); r.code != 0 {
		t.Fatalf("first chat: exit %d, %s", r.code, r.stderr)
	}
	db := filepath.Join(data, "intakebot.db")
	for _, f := range []string{db + "-wal", db + "-shm"} {
		os.Remove(f)
	}
	if err := os.Truncate(db, 0); err != nil {
		t.Fatal(err)
	}
	r := intakebot(t, "hi\n", nil, "chat", "--json", "--data", data)
	if r.code != 1 || !strings.Contains(r.stderr, db) || !strings.Contains(r.stderr, "empty") || !strings.Contains(r.stderr, "backup") {
		t.Fatalf("zero-byte database beside its key: exit %d, %q; want it refused, naming the file and what to do", r.code, r.stderr)
	}
	if fi, _ := os.Stat(db); fi.Size() != 0 {
		t.Error("the refused database was written to")
	}
}

func TestConcurrentFirstStartsShareOneKeyAndDatabase(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	const n = 20
	type out struct {
		err            error
		stdout, stderr string
	}
	outs := make([]out, n)
	cmds := make([]*exec.Cmd, n)
	for i := range n {
		cmds[i] = process(t, "chat", "--json", "--user", "p", "--data", data)
		cmds[i].Stdin = strings.NewReader("hi\n")
	}
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var so, se bytes.Buffer
			c.Stdout, c.Stderr = &so, &se
			err := c.Run()
			outs[i] = out{err, so.String(), se.String()}
		}()
	}
	wg.Wait()
	created := 0
	for i, o := range outs {
		if o.err != nil {
			t.Errorf("start %d: %v: %s", i, o.err, o.stderr)
		}
		if strings.Contains(o.stderr, "Created a new data key") {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d starts created a key; want 1", created)
	}
	if r := intakebot(t, "", nil, "audit", "--data", data); r.code != 0 {
		t.Errorf("audit after the starts: exit %d, %s", r.code, r.stderr)
	}
	ents, _ := os.ReadDir(data)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
