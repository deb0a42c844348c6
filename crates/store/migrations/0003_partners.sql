-- Warmlead desktop cache, schema 3: recruiting partners (issue 4).
-- Users learn when and how a partner joined; invitations and SMS records
-- come through the sync stream; partner_activity keeps each partner's counts
-- current through triggers so the Partners list never aggregates at query
-- time; partner_fts indexes names and phone digits for search.

ALTER TABLE users ADD COLUMN joined_at_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN source TEXT;
ALTER TABLE users ADD COLUMN invited_by INTEGER;
ALTER TABLE users ADD COLUMN invitation_id INTEGER;
CREATE INDEX users_partners ON users (role, rep_id);

CREATE TABLE invitations (
    id              INTEGER PRIMARY KEY,
    company_id      INTEGER NOT NULL,
    rep_id          INTEGER NOT NULL,
    channel         TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    max_uses        INTEGER,
    uses            INTEGER NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    expires_at_ms   INTEGER NOT NULL,
    url             TEXT    NOT NULL,
    short_code      TEXT    NOT NULL,
    recipient_name  TEXT,
    recipient_phone TEXT
);
CREATE INDEX invitations_newest ON invitations (created_at_ms DESC, id DESC);

CREATE TABLE sms_records (
    id            INTEGER PRIMARY KEY,
    rep_id        INTEGER NOT NULL,
    invitation_id INTEGER,
    name          TEXT    NOT NULL,
    phone         TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    error         TEXT,
    created_at_ms INTEGER NOT NULL,
    send_after_ms INTEGER,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX sms_records_newest ON sms_records (created_at_ms DESC, id DESC);

-- One row per partner (and per anyone who shared); deals = leads at stage won.
CREATE TABLE partner_activity (
    partner_id       INTEGER PRIMARY KEY,
    shares           INTEGER NOT NULL DEFAULT 0,
    views            INTEGER NOT NULL DEFAULT 0,
    leads            INTEGER NOT NULL DEFAULT 0,
    deals            INTEGER NOT NULL DEFAULT 0,
    last_share_at_ms INTEGER
);
-- The list's keyset order.
CREATE INDEX partner_activity_recent
    ON partner_activity (COALESCE(last_share_at_ms, 0) DESC, partner_id DESC);
-- Recomputing a partner's last share after a delete.
CREATE INDEX shares_partner ON shares (partner_id, created_at_ms);

-- Backfill from what the cache already holds.
INSERT OR IGNORE INTO partner_activity (partner_id)
    SELECT id FROM users WHERE role = 'partner'
    UNION SELECT partner_id FROM shares
    UNION SELECT partner_id FROM visits
    UNION SELECT partner_id FROM leads;
UPDATE partner_activity SET
    shares = (SELECT count(*) FROM shares s WHERE s.partner_id = partner_activity.partner_id),
    views = (SELECT count(*) FROM visits v WHERE v.partner_id = partner_activity.partner_id),
    leads = (SELECT count(*) FROM leads l WHERE l.partner_id = partner_activity.partner_id),
    deals = (SELECT count(*) FROM leads l
             WHERE l.partner_id = partner_activity.partner_id AND l.stage = 'won'),
    last_share_at_ms = (SELECT MAX(created_at_ms) FROM shares s
                        WHERE s.partner_id = partner_activity.partner_id);

CREATE TRIGGER users_activity AFTER INSERT ON users WHEN new.role = 'partner'
BEGIN
    INSERT INTO partner_activity (partner_id)
        SELECT new.id WHERE NOT EXISTS (SELECT 1 FROM partner_activity WHERE partner_id = new.id);
END;
CREATE TRIGGER users_activity_role AFTER UPDATE OF role ON users WHEN new.role = 'partner'
BEGIN
    INSERT INTO partner_activity (partner_id)
        SELECT new.id WHERE NOT EXISTS (SELECT 1 FROM partner_activity WHERE partner_id = new.id);
END;

-- Shares: counted on insert/delete; a changed partner or time recomputes both sides.
CREATE TRIGGER shares_activity_ins AFTER INSERT ON shares
BEGIN
    INSERT INTO partner_activity (partner_id)
        SELECT new.partner_id WHERE NOT EXISTS (SELECT 1 FROM partner_activity WHERE partner_id = new.partner_id);
    UPDATE partner_activity SET shares = shares + 1,
        last_share_at_ms = MAX(COALESCE(last_share_at_ms, new.created_at_ms), new.created_at_ms)
    WHERE partner_id = new.partner_id;
END;
CREATE TRIGGER shares_activity_del AFTER DELETE ON shares
BEGIN
    UPDATE partner_activity SET shares = shares - 1,
        last_share_at_ms = (SELECT MAX(created_at_ms) FROM shares WHERE partner_id = old.partner_id)
    WHERE partner_id = old.partner_id;
END;
CREATE TRIGGER shares_activity_upd AFTER UPDATE OF partner_id, created_at_ms ON shares
WHEN old.partner_id IS NOT new.partner_id OR old.created_at_ms IS NOT new.created_at_ms
BEGIN
    INSERT INTO partner_activity (partner_id)
        SELECT new.partner_id WHERE NOT EXISTS (SELECT 1 FROM partner_activity WHERE partner_id = new.partner_id);
    UPDATE partner_activity SET
        shares = (SELECT count(*) FROM shares WHERE partner_id = partner_activity.partner_id),
        last_share_at_ms = (SELECT MAX(created_at_ms) FROM shares
                            WHERE partner_id = partner_activity.partner_id)
    WHERE partner_id IN (old.partner_id, new.partner_id);
END;

-- Visits: views.
CREATE TRIGGER visits_activity_ins AFTER INSERT ON visits
BEGIN
    INSERT INTO partner_activity (partner_id)
        SELECT new.partner_id WHERE NOT EXISTS (SELECT 1 FROM partner_activity WHERE partner_id = new.partner_id);
    UPDATE partner_activity SET views = views + 1 WHERE partner_id = new.partner_id;
END;
CREATE TRIGGER visits_activity_del AFTER DELETE ON visits
BEGIN
    UPDATE partner_activity SET views = views - 1 WHERE partner_id = old.partner_id;
END;
CREATE TRIGGER visits_activity_upd AFTER UPDATE OF partner_id ON visits
WHEN old.partner_id IS NOT new.partner_id
BEGIN
    INSERT INTO partner_activity (partner_id)
        SELECT new.partner_id WHERE NOT EXISTS (SELECT 1 FROM partner_activity WHERE partner_id = new.partner_id);
    UPDATE partner_activity SET views = views - 1 WHERE partner_id = old.partner_id;
    UPDATE partner_activity SET views = views + 1 WHERE partner_id = new.partner_id;
END;

-- Leads: leads, and deals for those won.
CREATE TRIGGER leads_activity_ins AFTER INSERT ON leads
BEGIN
    INSERT INTO partner_activity (partner_id)
        SELECT new.partner_id WHERE NOT EXISTS (SELECT 1 FROM partner_activity WHERE partner_id = new.partner_id);
    UPDATE partner_activity SET leads = leads + 1, deals = deals + (new.stage = 'won')
    WHERE partner_id = new.partner_id;
END;
CREATE TRIGGER leads_activity_del AFTER DELETE ON leads
BEGIN
    UPDATE partner_activity SET leads = leads - 1, deals = deals - (old.stage = 'won')
    WHERE partner_id = old.partner_id;
END;
CREATE TRIGGER leads_activity_upd AFTER UPDATE OF partner_id, stage ON leads
WHEN old.partner_id IS NOT new.partner_id OR old.stage IS NOT new.stage
BEGIN
    INSERT INTO partner_activity (partner_id)
        SELECT new.partner_id WHERE NOT EXISTS (SELECT 1 FROM partner_activity WHERE partner_id = new.partner_id);
    UPDATE partner_activity SET leads = leads - 1, deals = deals - (old.stage = 'won')
    WHERE partner_id = old.partner_id;
    UPDATE partner_activity SET leads = leads + 1, deals = deals + (new.stage = 'won')
    WHERE partner_id = new.partner_id;
END;

-- Inside triggers, plain INSERT ... WHERE NOT EXISTS: an upsert running the
-- trigger would override INSERT OR IGNORE's conflict policy.

-- Search: names (trigram: any 3+ character part) and phone digits, of partners only.
-- Queries of 1-2 characters use LIKE on users (trigram needs 3).
CREATE VIRTUAL TABLE partner_fts USING fts5 (name, digits, tokenize = 'trigram');
INSERT INTO partner_fts (rowid, name, digits)
    SELECT id, name, REPLACE(COALESCE(phone, ''), '+', '') FROM users WHERE role = 'partner';

CREATE TRIGGER users_fts_ins AFTER INSERT ON users WHEN new.role = 'partner'
BEGIN
    INSERT INTO partner_fts (rowid, name, digits)
    VALUES (new.id, new.name, REPLACE(COALESCE(new.phone, ''), '+', ''));
END;
CREATE TRIGGER users_fts_upd AFTER UPDATE OF name, phone, role ON users
WHEN old.name IS NOT new.name OR old.phone IS NOT new.phone OR old.role IS NOT new.role
BEGIN
    DELETE FROM partner_fts WHERE rowid = old.id;
    INSERT INTO partner_fts (rowid, name, digits)
    SELECT new.id, new.name, REPLACE(COALESCE(new.phone, ''), '+', '') WHERE new.role = 'partner';
END;
CREATE TRIGGER users_fts_del AFTER DELETE ON users
BEGIN
    DELETE FROM partner_fts WHERE rowid = old.id;
END;
