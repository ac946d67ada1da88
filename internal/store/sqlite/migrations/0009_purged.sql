-- When a closed case's details were erased by the retention sweep (0: not
-- yet), so each is erased once.
ALTER TABLE cases ADD COLUMN purged_at INTEGER NOT NULL DEFAULT 0;
