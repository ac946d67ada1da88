package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/testkit"
)

// Case entries (staff notes, messages to the patient, the patient's relayed
// messages) are sealed on disk, read back in order, and the patient's own
// messages go when the patient asks to be forgotten.
func TestCaseEntriesAreSealedAndErasedWithThePatient(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "intakebot.db")
	key := seal.NewKey()
	st := open(t, path, key)
	ctx := context.Background()
	p, err := st.Patient(ctx, "discord", "u-entries")
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.OpenCase(ctx, intake.Case{PatientID: p.ID, Outcome: "requested", Priority: intake.PriorityLow})
	if err != nil {
		t.Fatal(err)
	}
	const relay, note = "CANARY-RELAY-my-sister-4f1", "CANARY-STAFF-NOTE-voicemail-9b2"
	for _, e := range []intake.CaseEntry{
		{CaseID: c.ID, Kind: intake.EntryRelay, Actor: "patient:" + p.ID, Text: relay},
		{CaseID: c.ID, Kind: intake.EntryNote, Actor: "discord:1", Name: "Dana", Text: note},
	} {
		if err := st.AddCaseEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	es, err := st.CaseEntries(ctx, c.ID)
	if err != nil || len(es) != 2 || es[0].Text != relay || es[1].Text != note || es[1].Name != "Dana" {
		t.Fatalf("entries = %+v, %v", es, err)
	}
	scan, err := testkit.ScanFiles(dir, sealer(t, key), nil, []string{relay, note})
	if err != nil || len(scan.Found) > 0 {
		t.Fatalf("plaintext on disk: %v %v", scan.Found, err)
	}
	relayAD := []byte("entry:" + es[0].ID)
	if _, err := st.ForgetPatient(ctx, p.ID, "patient:"+p.ID); err != nil {
		t.Fatal(err)
	}
	es, err = st.CaseEntries(ctx, c.ID)
	if err != nil || len(es) != 1 || es[0].Kind != intake.EntryNote {
		t.Fatalf("after erasure, entries = %+v, %v (want the staff note only)", es, err)
	}
	scan, err = testkit.ScanFiles(dir, sealer(t, key), [][]byte{relayAD}, []string{relay})
	if err != nil || len(scan.Found) > 0 {
		t.Errorf("the relayed message survives erasure: %v %v", scan.Found, err)
	}
}
