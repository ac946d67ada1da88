-- intakebot schema, version 1.
-- Sensitive values (answers, case details) are sealed by internal/seal before
-- they reach this database; columns named sealed/details hold "keyid:ciphertext".

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE patients (
	id         TEXT PRIMARY KEY,
	channel    TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (channel, user_id)
);

CREATE TABLE sessions (
	id             TEXT PRIMARY KEY,
	patient_id     TEXT NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
	script_version TEXT NOT NULL,
	status         TEXT NOT NULL,
	paused         INTEGER NOT NULL DEFAULT 0,
	crisis         INTEGER NOT NULL DEFAULT 0,
	outcome        TEXT NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
);
-- A patient has at most one active session.
CREATE UNIQUE INDEX sessions_one_active ON sessions (patient_id) WHERE status = 'active';

CREATE TABLE answers (
	session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
	question_id TEXT NOT NULL,
	sealed      TEXT NOT NULL,
	answered_at INTEGER NOT NULL,
	PRIMARY KEY (session_id, question_id)
);

CREATE TABLE cases (
	id             TEXT PRIMARY KEY,
	patient_id     TEXT NOT NULL REFERENCES patients(id),
	session_id     TEXT NOT NULL DEFAULT '',
	outcome        TEXT NOT NULL,
	priority       TEXT NOT NULL,
	priority_rank  INTEGER NOT NULL,
	status         TEXT NOT NULL,
	details        TEXT NOT NULL,
	script_version TEXT NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
);
-- A patient has at most one case that is not closed; new events merge into it.
CREATE UNIQUE INDEX cases_one_open ON cases (patient_id) WHERE status <> 'closed';
CREATE INDEX cases_list ON cases (status, priority_rank DESC, created_at DESC);

CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	case_id         TEXT NOT NULL REFERENCES cases(id),
	kind            TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	delivered_at    INTEGER
);
CREATE INDEX outbox_pending ON outbox (delivered_at, next_attempt_at);

CREATE TABLE audit (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	actor   TEXT NOT NULL,
	action  TEXT NOT NULL,
	case_id TEXT NOT NULL DEFAULT '',
	result  TEXT NOT NULL DEFAULT '',
	at      INTEGER NOT NULL
);
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
