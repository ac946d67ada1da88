-- The staff channel message (card) that shows each case, so later changes
-- edit it instead of posting a new one.
ALTER TABLE cases ADD COLUMN card_message_id TEXT NOT NULL DEFAULT '';
