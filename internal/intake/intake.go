package intake

import (
	"context"
	"time"
)

// Turn is one thing a patient did, already decoded by an adapter.
type Turn struct {
	// Channel names the adapter ("console", "discord"); with UserID it
	// identifies the patient.
	Channel string
	UserID  string
	// EventID is the platform's id for the event, used for deduplication.
	EventID string
	// Text is what the patient typed. It is scanned for crisis language before
	// anything else, whatever state the conversation is in.
	Text string
	// QuestionID and ChoiceIDs carry a structured answer (a button or a select
	// menu). QuestionID must name the pending question or the answer is stale.
	QuestionID string
	ChoiceIDs  []string
	// ShownQuestion is the question the patient had last been shown when
	// they typed Text, for adapters that know it (the terminal). Text typed
	// against another question than the pending one (in a second window,
	// after another device answered) is not taken as an answer: the patient
	// is shown the pending question. Empty means the pending question.
	ShownQuestion string
	At            time.Time
}

// ReplyKind says what a Reply is, so adapters can render it.
type ReplyKind string

// Reply kinds.
const (
	ReplyMessage  ReplyKind = "message"
	ReplyQuestion ReplyKind = "question"
	ReplyCrisis   ReplyKind = "crisis"
	ReplyOutcome  ReplyKind = "outcome"
	// ReplyNotice is for the actor alone (a stale button): adapters may show
	// it privately (Discord: ephemeral) and change nothing else.
	ReplyNotice ReplyKind = "notice"
)

// Choice is one option of a question as shown to a patient.
type Choice struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Reply is one platform-neutral message from the bot.
type Reply struct {
	Kind ReplyKind
	Text string
	// For questions.
	QuestionID string
	Choices    []Choice
	Multiple   bool // several choices may be picked
	Optional   bool // the patient may skip
	Step       int  // 1-based position among the questions asked so far
	StepsAbout int  // about how many questions this screening has
	// Actions suggest what the patient can do next (ids: "ask", "screen",
	// "staff"); adapters may show them as buttons.
	Actions []Choice
	// For outcomes.
	Outcome  string
	Priority Priority
	CaseID   string
}

// Priority orders cases for staff.
type Priority string

// Priorities, lowest first.
const (
	PriorityNone   Priority = "none"
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
	PriorityUrgent Priority = "urgent"
)

// Rank orders priorities; unknown values rank lowest.
func (p Priority) Rank() int {
	switch p {
	case PriorityLow:
		return 1
	case PriorityNormal:
		return 2
	case PriorityHigh:
		return 3
	case PriorityUrgent:
		return 4
	}
	return 0
}

// Valid reports whether p is one of the known priorities.
func (p Priority) Valid() bool {
	return p == PriorityNone || p.Rank() > 0
}

// Patient is a person who talks to the bot on one channel.
type Patient struct {
	ID        string
	Channel   string
	UserID    string
	CreatedAt time.Time
	// New is set when this call created the patient (first contact).
	New bool
}

// SessionStatus is where a screening session stands.
type SessionStatus string

// Session statuses. Only SessionActive sessions take answers.
const (
	SessionActive    SessionStatus = "active"
	SessionCompleted SessionStatus = "completed"
	SessionCancelled SessionStatus = "cancelled"
	SessionRestarted SessionStatus = "restarted"
	SessionStopped   SessionStatus = "stopped" // ended early by a rule (declined, not eligible, urgent)
)

// PauseReason is why a screening waits for the patient.
type PauseReason string

// Pause reasons.
const (
	PauseNone    PauseReason = ""        // not paused
	PauseCrisis  PauseReason = "crisis"  // crisis language: paused for them
	PauseStopped PauseReason = "stopped" // the patient stopped it (/cancel)
)

// Session is one run of the screening script for one patient.
type Session struct {
	ID            string
	PatientID     string
	ScriptVersion string
	Status        SessionStatus
	// Paused is set after crisis language or /cancel: the screening waits
	// until the patient asks to continue. PauseReason says which, so a
	// returning patient is greeted for the reason they stopped.
	Paused         bool
	PauseReason    PauseReason
	CrisisLanguage bool
	Answers        map[string]Answer
	// Version counts the changes to the session (answers, pause, crisis).
	// A change made from a reading of the session names the version it read
	// and is refused (ECONFLICT) if another turn changed the session since:
	// the answer would have been checked against a question no longer pending.
	Version   int64
	Outcome   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Answer is a patient's validated answer to one question. Exactly one of the
// value fields is meaningful, by the question's kind.
type Answer struct {
	QuestionID string    `json:"q"`
	Choice     string    `json:"c,omitempty"`  // yes/no and single choice: the option id
	Choices    []string  `json:"cs,omitempty"` // multiple choice: option ids in script order
	Number     *float64  `json:"n,omitempty"`
	Text       string    `json:"t,omitempty"`
	Skipped    bool      `json:"s,omitempty"`
	At         time.Time `json:"at"`
}

// CaseStatus is where a case stands for staff.
type CaseStatus string

// Case statuses.
const (
	CaseOpen    CaseStatus = "open"
	CaseClaimed CaseStatus = "claimed"
	CaseClosed  CaseStatus = "closed"
)

// Score is one instrument's result.
type Score struct {
	Value    int    `json:"value"`
	Band     string `json:"band"`
	Positive bool   `json:"positive,omitempty"`
}

// Contact is how the patient wants to be reached.
type Contact struct {
	Method   string `json:"method,omitempty"`
	Detail   string `json:"detail,omitempty"`
	BestTime string `json:"best_time,omitempty"`
}

// CaseAnswer is one screening answer as staff read it: the question's
// short label and the answer's label(s).
type CaseAnswer struct {
	Question string `json:"q"`
	Answer   string `json:"a"`
}

// Said is a message the patient wrote, kept on a case (sealed).
type Said struct {
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// MaxSaid bounds how many messages a case keeps in Said (the latest).
const MaxSaid = 10

// Case is a handoff to clinic staff. Details (scores, flags, contact, notes)
// are sensitive: stores keep them sealed.
type Case struct {
	ID         string
	PatientID  string
	SessionID  string // empty for cases not tied to a screening
	Outcome    string
	Priority   Priority
	Status     CaseStatus
	Assignee   string // display name of the staff member who claimed it
	AssigneeID string
	Flags      []string
	Scores     map[string]Score
	Contact    Contact
	Notes      string
	// Answers are the screening answers staff see in Details whatever they
	// are (safety and medical history: the script's case_fields.answers).
	Answers []CaseAnswer
	// Said is what the patient wrote when crisis language opened or raised
	// the case, for the staff member who must call them: in Details only
	// (audited, as every view), never on the card.
	Said          []Said
	ScriptVersion string
	// CloseReason is one of CloseReasons' ids once the case is closed;
	// CloseNote is staff's optional note (sealed with the details).
	CloseReason string
	CloseNote   string
	// LastAction is a one-line, detail-free summary of the latest staff or
	// patient activity ("Note added by Dana"), shown on the card.
	LastAction   string
	LastActionAt time.Time
	// CardMessageID is the staff channel message showing the case ("" until
	// it is posted). On Discord the case thread has the same id.
	CardMessageID string
	// AlertFrom is when the current paging or reminder schedule started (the
	// case opened, its priority rose, or it was unclaimed); AlertsSent counts
	// the pages or reminders queued since then.
	AlertFrom  time.Time
	AlertsSent int
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// CloseReason is why staff closed a case.
type CloseReason struct {
	ID    string
	Label string
	// Notice is the messages.yaml key of what the patient is told, "" when
	// the reason does not call for a message (staff tell them in person).
	Notice string
}

// CloseReasons are the reasons staff can close a case with.
var CloseReasons = []CloseReason{
	{ID: "consult_booked", Label: "Consult booked"},
	{ID: "not_candidate", Label: "Not a candidate"},
	{ID: "unreachable", Label: "Could not reach", Notice: "notice_unreachable"},
	{ID: "duplicate", Label: "Duplicate"},
	{ID: "withdrew", Label: "Patient withdrew"},
	{ID: "other", Label: "Other"},
}

// CloseReasonByID returns a close reason.
func CloseReasonByID(id string) (CloseReason, bool) {
	for _, r := range CloseReasons {
		if r.ID == id {
			return r, true
		}
	}
	return CloseReason{}, false
}

// OutboxEvent is work for a Notifier, written in the same transaction as the
// change it announces.
type OutboxEvent struct {
	ID          int64
	CaseID      string
	Kind        string // case_opened, case_updated
	CreatedAt   time.Time
	DeliveredAt *time.Time
	Attempts    int
	// Data is the event's detail-free payload (a page's number, a notice's
	// message key), opaque to the store.
	Data string
}

// Outbox event kinds.
const (
	EventCaseOpened  = "case_opened"
	EventCaseUpdated = "case_updated"
	// EventPage pages staff about an unclaimed case; EventReminder reminds
	// them of one. Data says which page.
	EventPage     = "case_page"
	EventReminder = "case_reminder"
	// EventPatientNotice tells the patient something about their case; Data
	// is the messages.yaml key.
	EventPatientNotice = "patient_notice"
)

// CaseFilter selects cases; zero fields match everything.
type CaseFilter struct {
	Status    CaseStatus
	PatientID string
	// CardMessageID selects the case a staff card (or its thread) shows.
	CardMessageID string
	Limit         int
}

// AuditEntry is one append-only audit row.
type AuditEntry struct {
	ID     int64
	Actor  string
	Action string
	CaseID string
	Result string
	At     time.Time
}

// Store persists patients, sessions, answers, cases, the outbox and the audit
// log. Every method that changes more than one row does so in one transaction.
type Store interface {
	// Patient returns the patient for channel and user id, creating it.
	Patient(ctx context.Context, channel, userID string) (Patient, error)
	// ActiveSession returns the patient's active session or ENOTFOUND.
	ActiveSession(ctx context.Context, patientID string) (Session, error)
	// StartSession creates an active session, ending any other active session of
	// the patient with status SessionRestarted.
	StartSession(ctx context.Context, s Session) error
	// SaveAnswer stores one answer (replacing an earlier answer to the same
	// question), resumes a paused session and moves it to the next version,
	// in one transaction, if the session is active and still at version (the
	// one the answer was checked against); otherwise ECONFLICT and nothing
	// changes.
	SaveAnswer(ctx context.Context, sessionID string, version int64, a Answer) error
	// SetPaused records whether, and why, the session waits for the patient
	// to continue (PauseNone resumes it; PauseCrisis also records crisis
	// language); it moves the session to the next version.
	SetPaused(ctx context.Context, sessionID string, reason PauseReason) error
	// EndSession closes a session with a status and outcome, if it is active
	// and still at version (ECONFLICT otherwise). With
	// discardAnswers the session's answers are deleted. With c non-nil a case
	// is opened (or merged into the patient's open case) with its outbox event,
	// in the same transaction; the case as stored is returned.
	EndSession(ctx context.Context, sessionID string, version int64, status SessionStatus, outcome string, discardAnswers bool, c *Case) (*Case, error)
	// OpenCase opens a case, or merges it into the patient's open case (higher
	// priority wins, flags are joined), with an outbox event, in one transaction.
	OpenCase(ctx context.Context, c Case) (Case, error)
	// Case returns one case or ENOTFOUND.
	Case(ctx context.Context, id string) (Case, error)
	// Cases lists cases, most urgent then newest first.
	Cases(ctx context.Context, f CaseFilter) ([]Case, error)
	// PendingEvents lists undelivered outbox events, oldest first.
	PendingEvents(ctx context.Context, limit int) ([]OutboxEvent, error)
	// Audit appends an audit row.
	Audit(ctx context.Context, e AuditEntry) error
	// AuditLog lists audit rows, oldest first; caseID "" lists all.
	AuditLog(ctx context.Context, caseID string) ([]AuditEntry, error)
	// PatientSummary counts what is held about a patient.
	PatientSummary(ctx context.Context, patientID string) (Summary, error)
	// ForgetPatient erases a patient's sessions, answers and contact details
	// in one transaction. Cases keep their outcome and priority for staff but
	// lose their sealed details (scores, flags, contact, notes) and gain the
	// flag FlagPatientWithdrew; open ones get an outbox event so staff hear.
	// An audit row records the erasure. It returns the cases touched.
	ForgetPatient(ctx context.Context, patientID, actor string) ([]string, error)
	// DueEvents lists undelivered outbox events whose next attempt is due,
	// oldest first, leaving out any event with an earlier undelivered event
	// of the same case (a case's changes are delivered in order).
	DueEvents(ctx context.Context, now time.Time, limit int) ([]OutboxEvent, error)
	// EventFailed records a failed delivery and when to try again.
	EventFailed(ctx context.Context, eventID int64, next time.Time) error
	// EventDelivered marks an event delivered and records the case's card
	// message id, in one transaction.
	EventDelivered(ctx context.Context, eventID int64, caseID, cardMessageID string) error
	// CardMessage returns the case's card message id, "" if none yet.
	CardMessage(ctx context.Context, caseID string) (string, error)
	// ClaimCase assigns an open case to a staff member (ECONFLICT if it is
	// claimed by someone else or closed), with an audit row and the card's
	// outbox event, in one transaction; the first claim also queues the
	// patient's "notice_claimed". Unclaim (claim=false) returns it to open and
	// restarts its paging schedule.
	ClaimCase(ctx context.Context, caseID, actorID, actorName string, claim bool) (Case, error)
	// PatientByID returns a patient by id or ENOTFOUND.
	PatientByID(ctx context.Context, id string) (Patient, error)
	// CaseAction records a staff or patient action on a case: an audit row,
	// the card's last-action line and an outbox event to update the card,
	// in one transaction. It fails with ENOTFOUND for an unknown case.
	CaseAction(ctx context.Context, a CaseActionEntry) (Case, error)
	// CloseCase closes an open or claimed case with a reason (one of
	// CloseReasons) and an optional note, with its audit row, the card's
	// outbox event and, when the reason calls for it, a patient notice, in
	// one transaction. ECONFLICT if it is already closed.
	CloseCase(ctx context.Context, caseID, actorID, actorName, reason, note string) (Case, error)
	// QueueAlert records the n-th page or reminder of an unclaimed case and
	// queues its outbox event, in one transaction, only if the case is still
	// open (unclaimed) and n-1 alerts were sent since AlertFrom; it reports
	// whether it did. A repeated call (another process, a restart) is a no-op.
	QueueAlert(ctx context.Context, caseID string, n int, kind, data string) (bool, error)
	// IdleSessions lists active, unpaused sessions not touched since before
	// and not yet checked in their current silence (their Answers are not
	// loaded: use ActiveSession).
	IdleSessions(ctx context.Context, before time.Time) ([]Session, error)
	// MarkSwept records that a session was checked at its updatedAt; a later
	// answer starts a new silence.
	MarkSwept(ctx context.Context, sessionID string, updatedAt time.Time) error
	// FirstSeen records a platform event id and reports whether this is the
	// first time it was seen; a replayed event returns false.
	FirstSeen(ctx context.Context, eventID string) (bool, error)
}

// CaseActionEntry is one action on a case, for CaseAction.
type CaseActionEntry struct {
	CaseID string
	Actor  string // "discord:<id>", "patient:<id>"
	Action string // "case.note", "case.message", "case.relay"
	Result string // "ok" or why not
	// LastAction is the card's line ("Note added by Dana"); "" leaves the
	// card as it is (no card update is queued).
	LastAction string
}

// Passage is approved text handed to a language model to rephrase.
type Passage struct {
	ID    string
	Title string
	Text  string
}

// Grounded is a model's answer built only from the passages it was given.
type Grounded struct {
	Text    string
	Sources []string // passage ids, best first
}

// FlagPatientWithdrew marks a case whose patient erased their data.
const FlagPatientWithdrew = "patient_withdrew"

// Summary is what is held about one patient.
type Summary struct {
	Sessions int      // screenings started
	Answers  int      // answers stored (sealed)
	Pending  bool     // a screening is in progress
	Cases    []string // case references
	OpenCase string   // the open case, if any
}
