package intake

import "time"

// CaseEntry is something said on a case that staff read in the web console:
// a staff note, a message staff sent the patient, or a patient's message
// relayed to staff. Its text is sensitive: stores keep it sealed.
type CaseEntry struct {
	ID     string
	CaseID string
	Kind   string // EntryNote, EntryMessage, EntryRelay
	Actor  string // "discord:<id>" or "patient:<id>"
	Name   string // the staff member's display name ("" for the patient)
	Text   string
	At     time.Time
}

// Case entry kinds.
const (
	EntryNote    = "note"
	EntryMessage = "message"
	EntryRelay   = "relay"
)

// QueueFilter selects a page of the staff queue; zero fields match all.
type QueueFilter struct {
	Status     CaseStatus // "" any
	NotClosed  bool       // open or claimed
	Priority   Priority   // "" any
	AssigneeID string     // "discord:<id>"
	Unassigned bool
	Offset     int
	Limit      int
}
