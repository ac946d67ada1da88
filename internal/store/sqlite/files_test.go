package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
)

// withUmask runs the test under the usual umask 022, which leaves SQLite's
// default mode 0644 readable by everyone.
func withUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}

func TestNewDatabaseFilesAreOwnerOnly(t *testing.T) {
	withUmask(t)
	path := filepath.Join(t.TempDir(), "intakebot.db")
	st := open(t, path, seal.NewKey())
	_, sess := startSession(t, st, "mode")
	// An answer written keeps the WAL and shared memory files open.
	if err := st.SaveAnswer(context.Background(), sess.ID, 0, intake.Answer{QuestionID: "q", Text: "x", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode = %v; want 0600", filepath.Base(f), got)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range ents {
		if strings.Contains(e.Name(), ".new-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestDatabaseOthersCanReadIsRefusedWithTheChmod(t *testing.T) {
	path := filepath.Join(t.TempDir(), "intakebot.db")
	key := seal.NewKey()
	open(t, path, key).Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.Open(context.Background(), path, sealer(t, key), nil)
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Fatalf("open a 0644 database: err = %v; want the chmod to run", err)
	}
}

func TestEmptyDamagedOrForeignFileSaysWhichAndWhatToDo(t *testing.T) {
	dir := t.TempDir()
	key := seal.NewKey()
	good := filepath.Join(dir, "good.db")
	st := open(t, good, key)
	for i := range 50 {
		startSession(t, st, "u"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	st.Close()
	whole, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}

	foreign := filepath.Join(dir, "foreign.db")
	db, err := sql.Open("sqlite", "file:"+foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE photos (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	os.Chmod(foreign, 0o600)

	for _, tc := range []struct {
		name, want string
		content    []byte
	}{
		{"Empty", "is empty (0 bytes)", []byte{}},
		{"NotSQLite", "is damaged or is not a database", []byte(strings.Repeat("this is not a database\n", 300))},
		{"Truncated", "is damaged or is not a database", whole[:len(whole)/3]},
		{"Foreign", "not written by intakebot", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := foreign
			if tc.content != nil {
				path = filepath.Join(dir, tc.name+".db")
				if err := os.WriteFile(path, tc.content, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := os.ReadFile(path)
			_, err := sqlite.Open(context.Background(), path, sealer(t, key), nil)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("open: err = %v; want it to name %s and say %q", err, path, tc.want)
			}
			if after, _ := os.ReadFile(path); string(after) != string(before) {
				t.Errorf("the refused file was changed")
			}
		})
	}
}

func TestConcurrentFirstOpensShareOneDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "intakebot.db")
	key := seal.NewKey()
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st, err := sqlite.Open(context.Background(), path, sealer(t, key), nil)
			if err == nil {
				_, err = st.Patient(context.Background(), "console", "same")
				st.Close()
			}
			errs[i] = err
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
		}
	}
	if got := count(t, path, `SELECT COUNT(*) FROM patients`); got != 1 {
		t.Errorf("patients = %d; want 1", got)
	}
}

// Opening an up-to-date database never waits for the write lock: a busy
// instance holding it must not make another start fail with "database is
// locked".
func TestOpenMigratedDatabaseWhileAnotherHoldsTheWriteLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "intakebot.db")
	key := seal.NewKey()
	open(t, path, key).Close()
	db, err := sql.Open("sqlite", sqlite.DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`)
	st, err := sqlite.Open(context.Background(), path, sealer(t, key), nil)
	if err != nil {
		t.Fatalf("open while another connection writes: %v", err)
	}
	st.Close()
}
