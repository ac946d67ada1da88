-- The updated_at of an active session when it was last checked for
-- abandonment, so each stretch of silence is checked once.
ALTER TABLE sessions ADD COLUMN swept_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sessions_idle ON sessions (status, updated_at);
