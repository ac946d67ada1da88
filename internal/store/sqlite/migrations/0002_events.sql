-- Platform events already handled (Discord message and interaction ids), so a
-- replayed event is processed once.
CREATE TABLE processed_events (
	id         TEXT PRIMARY KEY,
	handled_at INTEGER NOT NULL
);
