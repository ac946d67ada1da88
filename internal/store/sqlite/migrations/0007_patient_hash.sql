-- patients.user_id no longer holds the chat user id in plaintext: it holds a
-- keyed hash of channel and user id (seal.Hash, under the data key), so the
-- database alone names no one and the UNIQUE (channel, user_id) constraint
-- still makes a first contact race-safe. The user id itself, needed to send
-- the patient a message, is sealed in user_sealed. Rows written before have
-- hashed = 0 and are converted when the store opens with the key. An erased
-- patient keeps only a random user_id and no user_sealed.
ALTER TABLE patients ADD COLUMN user_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE patients ADD COLUMN hashed INTEGER NOT NULL DEFAULT 0;
