-- Activation codes this device issued, or a team import returned, kept
-- while they are open so the manager can show one again or send it again
-- by SMS (issue 19). The server keeps codes only hashed, so this device is
-- the only place such a code is known; a code issued on another device is
-- not here and the team screen offers a new one instead. Forgotten once
-- used, revoked, retired or expired (`warmlead_core::team::keep_known_code`)
-- and at sign-out.
CREATE TABLE known_codes (
    code_id       INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL,
    code          TEXT NOT NULL,
    link          TEXT NOT NULL,
    remembered_at INTEGER NOT NULL
);
CREATE INDEX known_codes_user ON known_codes(user_id);
