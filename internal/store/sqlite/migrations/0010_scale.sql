-- Every lookup on a hot path uses an index, so it costs the same with a
-- hundred patients or a hundred thousand (sqlite_test's query-plan test
-- fails on a full scan of a large table).

-- A patient's cases and sessions (cases_one_open covers only cases that are
-- not closed, sessions_one_active only active sessions).
CREATE INDEX cases_patient ON cases (patient_id, created_at);
CREATE INDEX sessions_patient ON sessions (patient_id);

-- Active sessions not yet checked in their current silence: the sweep for
-- abandoned screenings reads these, not every active session it already
-- looked at.
CREATE INDEX sessions_unswept ON sessions (updated_at)
	WHERE status = 'active' AND paused = 0 AND swept_at <> updated_at;

-- When the dispatcher must next look at an open case's pages and reminders
-- (0: not worked out yet, as after any change to the case's schedule). The
-- alert check reads only open cases whose time has come, the most urgent
-- first among those not worked out yet (after a restart, all of them).
ALTER TABLE cases ADD COLUMN alert_check_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX cases_alert_due ON cases (alert_check_at, priority_rank DESC) WHERE status = 'open';

-- The outbox's next batch: the head of each case's queue (its earliest
-- undelivered event; the others wait behind it) in the case's priority
-- order, read from one small index instead of comparing every pending
-- event with every other. case_rank is the case's priority_rank, copied so
-- the order needs no join.
ALTER TABLE outbox ADD COLUMN head INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN case_rank INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_case_pending ON outbox (case_id, id) WHERE delivered_at IS NULL;
UPDATE outbox SET case_rank = COALESCE((SELECT priority_rank FROM cases WHERE cases.id = outbox.case_id), 0)
	WHERE delivered_at IS NULL;
UPDATE outbox SET head = 1 WHERE delivered_at IS NULL
	AND id = (SELECT MIN(e.id) FROM outbox e WHERE e.case_id = outbox.case_id AND e.delivered_at IS NULL);
CREATE INDEX outbox_next ON outbox (case_rank DESC, id) WHERE delivered_at IS NULL AND head = 1;
