package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
	"github.com/intakebot/intakebot/internal/testkit"
)

// After "/forget-me confirm" in the chat, nothing the patient typed (their
// user name, contact detail, notes) is anywhere in the data directory: not
// in the database, its WAL or shared memory, nor the log, in plaintext or in
// any sealed value the key file opens.
func TestForgetMeLeavesNothingInTheDataDirectory(t *testing.T) {
	data := dataDir(t)
	const user = "canary-e2e-user"
	canaries := []string{user, "canary.mail.e2e@example.com", "CANARY notes e2e lithium"}
	input := strings.Join([]string{
		"/screen", "yes", "yes", "depression, anxiety", "three_plus", "none",
		"3", "3", "2", "1", "1", "1", "1", "1", "1", "somewhat",
		"4", "4", "4", "2", "1", "1", "1",
		"no", "no", "no", "no",
		"no", "no", "no", "no", "not sure", "no", "no", "yes",
		"email", canaries[1], "evening", canaries[2],
		"no", // to the direct safety question, if the notes raise one
	}, "\n") + "\n"
	r := intakebot(t, input, nil, "chat", "--json", "--user", user, "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, `"outcome":"positive"`) {
		t.Fatalf("screening: exit %d, %s\n%s", r.code, r.stdout, r.stderr)
	}

	// The record bindings an attacker with the database can list.
	ads := [][]byte{[]byte("meta:key_check")}
	db, err := sql.Open("sqlite", sqlite.DSN(filepath.Join(data, "intakebot.db")))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`SELECT 'answer:' || session_id || ':' || question_id FROM answers`,
		`SELECT 'case:' || id FROM cases`, `SELECT 'patient:' || id FROM patients`} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var ad string
			rows.Scan(&ad)
			ads = append(ads, []byte(ad))
		}
		rows.Close()
	}
	db.Close()
	keyText, err := os.ReadFile(filepath.Join(data, "data.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := seal.ParseKey(string(keyText))
	if err != nil {
		t.Fatal(err)
	}
	sl, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	before, err := testkit.ScanFiles(data, sl, ads, canaries)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Found) < len(canaries)-1 {
		t.Fatalf("before erasure the scan finds only %v: the scan is broken", before.Found)
	}

	r = intakebot(t, "/forget-me\n/forget-me confirm\n", nil, "chat", "--json", "--user", user, "--data", data)
	if r.code != 0 || !strings.Contains(r.stdout, "have been erased") {
		t.Fatalf("forget-me: exit %d, %s\n%s", r.code, r.stdout, r.stderr)
	}
	after, err := testkit.ScanFiles(data, sl, ads, canaries)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range after.Found {
		t.Error(f)
	}
	if after.Opened == 0 {
		t.Error("the scan opened nothing after erasure (not even the key check): the scan is broken")
	}
}
