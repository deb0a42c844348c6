-- SMS invitations (issue 4): every message a rep sends through the server,
-- where it stands, and the numbers that said stop. Times are UTC ms.

CREATE TABLE sms_messages (
    id                  INTEGER PRIMARY KEY,
    company_id          INTEGER NOT NULL REFERENCES companies(id),
    rep_id              INTEGER NOT NULL REFERENCES users(id),
    invitation_id       INTEGER REFERENCES invitations(id),
    name                TEXT NOT NULL,
    -- E.164.
    phone               TEXT NOT NULL,
    -- The full text as the recipient reads it (link and opt-out line included).
    -- It carries the invitation URL, which already rests in the change log
    -- (ChangeBody::Invitation); a queued message must keep it to go out later.
    text                TEXT NOT NULL,
    -- Values for template-based providers (Aliyun, Tencent): JSON [[name, value], ...].
    template_params     TEXT NOT NULL DEFAULT '[]',
    kind                TEXT NOT NULL CHECK (kind IN ('invitation', 'one_time_code')),
    status              TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'delivered', 'failed')),
    provider            TEXT,
    provider_message_id TEXT,
    -- Why it failed, in the provider's (or the rules') words.
    error               TEXT,
    created_at          INTEGER NOT NULL,
    -- Queued messages go out at or after this instant (quiet hours end).
    send_after          INTEGER NOT NULL,
    -- Set just before the provider is called. A row still queued with it set
    -- was interrupted mid-send (crash); it is failed, not resent, so nobody
    -- gets the same invitation twice.
    attempted_at        INTEGER,
    -- When the provider accepted it: what the daily cap and duplicate window count.
    sent_at             INTEGER,
    updated_at          INTEGER NOT NULL
);
-- The runner: due queued messages.
CREATE INDEX sms_messages_due ON sms_messages(status, send_after);
-- The rules: what this number already got.
CREATE INDEX sms_messages_phone ON sms_messages(phone, created_at);
-- Delivery reports name the provider's id.
CREATE INDEX sms_messages_provider_id ON sms_messages(provider, provider_message_id);

-- A number that replied with an opt-out word gets no invitation again, from
-- any company: the recipient said stop to us, not to one company.
CREATE TABLE sms_optouts (
    phone  TEXT PRIMARY KEY,
    at     INTEGER NOT NULL,
    -- Provider whose reply hook brought the opt-out.
    source TEXT NOT NULL
);
