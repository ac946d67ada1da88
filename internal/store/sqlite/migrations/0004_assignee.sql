-- Who claimed a case (a staff member's display name and platform id).
ALTER TABLE cases ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN assignee_id TEXT NOT NULL DEFAULT '';
