package main

import (
	"database/sql"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
)

// openAll opens every sealed value in the database with the keys in the key
// file, failing the test on any it cannot open, and returns them by record.
func openAll(t *testing.T, data string) (map[string]string, map[string]int) {
	t.Helper()
	keys, _, err := seal.LoadKeys(filepath.Join(data, "data.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := seal.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", sqlite.DSN(filepath.Join(data, "intakebot.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out, byKey := map[string]string{}, map[string]int{}
	for _, q := range []string{
		`SELECT 'meta:' || key, value FROM meta WHERE key = 'key_check'`,
		`SELECT 'answer:' || session_id || ':' || question_id, sealed FROM answers`,
		`SELECT 'case:' || id, details FROM cases`,
		`SELECT 'patient:' || id, user_sealed FROM patients WHERE user_sealed <> ''`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var ad, sealed string
			rows.Scan(&ad, &sealed)
			plain, err := sl.Open(sealed, []byte(ad))
			if err != nil {
				t.Fatalf("%s cannot be opened with the key file's keys: %v", ad, err)
			}
			out[ad] = string(plain)
			id, _, _ := strings.Cut(sealed, ":")
			byKey[id]++
		}
		rows.Close()
	}
	return out, byKey
}

// rekey killed at random points, again and again, loses nothing and leaves
// nothing unreadable; run to the end, it leaves every value under one new
// key, the old one retired, and patients still recognised.
func TestRekeyKilledAtRandomPointsLosesNothing(t *testing.T) {
	data := dataDir(t)
	users := []string{"ann", "bob", "cat", "dan"}
	for _, u := range users {
		if r := intakebot(t, positiveInput, nil, "chat", "--json", "--user", u, "--data", data); r.code != 0 {
			t.Fatalf("chat %s: %d %s", u, r.code, r.stderr)
		}
	}
	want, _ := openAll(t, data)
	if len(want) < 100 {
		t.Fatalf("only %d sealed values to rotate", len(want))
	}
	oldKey, _ := os.ReadFile(filepath.Join(data, "data.key"))

	rng := rand.New(rand.NewPCG(3, 12))
	killed, midway := 0, 0
	for i := range 15 {
		cmd := process(t, "rekey", "--batch", "3", "--data", data)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		timer := time.AfterFunc(time.Duration(rng.IntN(120))*time.Millisecond, func() { cmd.Process.Kill() })
		if err := cmd.Wait(); err != nil {
			killed++
		}
		timer.Stop()
		got, byKey := openAll(t, data)
		if len(byKey) > 1 {
			midway++ // killed with values under both keys
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after rekey run %d: the values changed (%d now, %d before)", i, len(got), len(want))
		}
	}
	// Timing decides where each kill lands; say how many hit mid-rotation.
	t.Logf("%d of 15 runs killed, %d of them with values under both keys", killed, midway)

	r := intakebot(t, "", nil, "rekey", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "retired") {
		t.Fatalf("rekey to the end: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	keyText, _ := os.ReadFile(filepath.Join(data, "data.key"))
	if strings.Count(strings.TrimSpace(string(keyText)), "\n") != 0 || string(keyText) == string(oldKey) {
		t.Fatalf("key file after rekey holds %q; want one new key", keyText)
	}
	got, byKey := openAll(t, data)
	if !reflect.DeepEqual(got, want) || len(byKey) != 1 {
		t.Fatalf("after rekey: %d values under keys %v; want all %d under one key", len(got), byKey, len(want))
	}
	// Patients are still recognised: their screening resumes, not restarts.
	r = intakebot(t, "/privacy\n", nil, "chat", "--json", "--user", "ann", "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "Screenings started: 1") {
		t.Errorf("ann after rekey: %s%s", r.stdout, r.stderr)
	}
	// The old key no longer opens the database.
	r = intakebot(t, "hi\n", map[string]string{"INTAKEBOT_DATA_KEY": strings.TrimSpace(string(oldKey))}, "chat", "--data", data)
	if r.code != 1 || !strings.Contains(r.stderr, "does not open this database") {
		t.Errorf("old key after rekey: exit %d %s", r.code, r.stderr)
	}
}
