-- Recruiting partners (issue 4): invitations, one-time SMS codes for
-- accepting them, and where each user came from.

-- The URL token is a bearer secret: only its SHA-256 is stored. The full URL
-- travels once, in the ChangeBody::Invitation the rep's devices pull (so the
-- desktop can show the QR again); the server cannot rebuild it.
CREATE TABLE invitations (
    id              INTEGER PRIMARY KEY,
    company_id      INTEGER NOT NULL REFERENCES companies(id),
    rep_id          INTEGER NOT NULL REFERENCES users(id),
    channel         TEXT NOT NULL CHECK (channel IN ('qr', 'sms', 'poster')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'revoked')),
    -- NULL: any number of people may accept.
    max_uses        INTEGER,
    uses            INTEGER NOT NULL DEFAULT 0,
    token_hash      BLOB NOT NULL UNIQUE,
    -- The change-log row whose Invitation body carries the URL; GET and
    -- later changes copy the URL from there (the token has no column).
    url_seq         INTEGER NOT NULL DEFAULT 0,
    -- Six characters typed by hand at /j; unique among pending invitations
    -- (enforced when drawing one). Short-lived and rate-limited per IP.
    short_code      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    recipient_name  TEXT,
    recipient_phone TEXT
);
CREATE INDEX invitations_rep ON invitations(rep_id, created_at);
CREATE INDEX invitations_company ON invitations(company_id);
CREATE INDEX invitations_short_code ON invitations(short_code, status);

-- One-time codes sent by SMS before accepting an invitation (only when a real
-- provider is configured). Only the code's hash is kept.
CREATE TABLE invitation_otps (
    id            INTEGER PRIMARY KEY,
    invitation_id INTEGER NOT NULL REFERENCES invitations(id),
    phone         TEXT NOT NULL,
    code_hash     BLOB NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    used_at       INTEGER
);
CREATE INDEX invitation_otps_phone ON invitation_otps(invitation_id, phone, created_at);

ALTER TABLE users ADD COLUMN source TEXT;
ALTER TABLE users ADD COLUMN invited_by INTEGER REFERENCES users(id);
ALTER TABLE users ADD COLUMN invitation_id INTEGER REFERENCES invitations(id);
CREATE INDEX users_company_phone ON users(company_id, phone);
