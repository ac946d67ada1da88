-- What is said on a case, for the staff web console: staff notes, messages
-- staff sent the patient, the patient's relayed messages. The text is sealed
-- ("keyid:ciphertext", the entry id as additional data).
CREATE TABLE case_entries (
	id      TEXT PRIMARY KEY,
	case_id TEXT NOT NULL,
	kind    TEXT NOT NULL,
	actor   TEXT NOT NULL,
	at      INTEGER NOT NULL,
	sealed  TEXT NOT NULL
);
CREATE INDEX case_entries_case ON case_entries (case_id, at);
-- The staff queue's order.
CREATE INDEX cases_queue ON cases (priority_rank DESC, created_at DESC);
