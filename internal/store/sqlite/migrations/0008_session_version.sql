-- Every change to a session moves it to the next version; an answer is
-- saved only if the session is still at the version it was checked against
-- (a compare-and-set), so two turns of one patient at once cannot apply one
-- turn's answer to the other's question.
ALTER TABLE sessions ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
