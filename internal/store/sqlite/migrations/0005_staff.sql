-- The staff workflow: close reasons, the card's last-action line, paging
-- and reminder timers, and event payloads.
ALTER TABLE cases ADD COLUMN close_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN last_action TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN last_action_at INTEGER NOT NULL DEFAULT 0;
-- When the current paging/reminder schedule started, and how many pages or
-- reminders were queued since; a restart reads them, so nothing is doubled.
ALTER TABLE cases ADD COLUMN alert_from INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN alerts_sent INTEGER NOT NULL DEFAULT 0;
-- Whether the patient was told their case was claimed (told once).
ALTER TABLE cases ADD COLUMN claim_told INTEGER NOT NULL DEFAULT 0;
UPDATE cases SET alert_from = created_at;
ALTER TABLE outbox ADD COLUMN data TEXT NOT NULL DEFAULT '';
CREATE INDEX cases_card ON cases (card_message_id) WHERE card_message_id <> '';
