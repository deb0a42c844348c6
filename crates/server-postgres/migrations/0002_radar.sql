-- The radar (issue 3): signals, visit aggregates, reload merging, forward
-- chains, leads, not-view counters, the radar change stream.
-- Twin of the SQLite 0002_radar.sql.

-- Visits lose the foreign key to shares: a visit may come through a child
-- share (a forward), which lives in child_shares. SQLite rebuilds the table
-- (visits_new); PostgreSQL alters it in place, to the same columns.
ALTER TABLE visits DROP CONSTRAINT visits_share_token_fkey;
-- The partner's own share credited (= share_token unless forwarded).
ALTER TABLE visits ADD COLUMN root_token TEXT;
ALTER TABLE visits ADD COLUMN last_seen_at BIGINT;
UPDATE visits SET root_token = share_token, last_seen_at = opened_at;
ALTER TABLE visits ALTER COLUMN root_token SET NOT NULL;
ALTER TABLE visits ALTER COLUMN last_seen_at SET NOT NULL;
ALTER TABLE visits ADD COLUMN scroll_pct BIGINT NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN video_s BIGINT NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN video_len_s BIGINT NOT NULL DEFAULT 0;
ALTER TABLE visits ADD COLUMN visit_no BIGINT NOT NULL DEFAULT 1;
ALTER TABLE visits ADD COLUMN page_views BIGINT NOT NULL DEFAULT 1;
CREATE INDEX visits_share_visitor ON visits(share_token, visitor_id, last_seen_at);

-- Every page load (its random id) and the visit it was merged into.
-- (SQLite's WITHOUT ROWID has no equivalent and needs none: a PostgreSQL
-- table is a heap plus its primary key index either way.)
CREATE TABLE page_views (
    pv       TEXT PRIMARY KEY,
    visit_id BIGINT NOT NULL,
    dwell_ms BIGINT NOT NULL DEFAULT 0
);
INSERT INTO page_views (pv, visit_id, dwell_ms) SELECT page_view, id, dwell_ms FROM visits;

-- Append-only: what viewers did. Raw rows are purged after the retention
-- period (visits keep their aggregates; leads keep their score).
CREATE TABLE signals (
    id          BIGSERIAL PRIMARY KEY,
    share_token TEXT NOT NULL,
    visit_id    BIGINT,
    visitor_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    value       BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    company_id  BIGINT NOT NULL,
    partner_id  BIGINT NOT NULL,
    item_id     BIGINT NOT NULL
);
CREATE INDEX signals_visitor ON signals(visitor_id, id);
CREATE INDEX signals_at ON signals(at);

-- Requests not counted as views, by company and reason.
CREATE TABLE filtered_hits (
    company_id BIGINT NOT NULL,
    reason     TEXT NOT NULL,
    count      BIGINT NOT NULL,
    PRIMARY KEY (company_id, reason)
);

-- Browsers the sharer opened their own link in (visitor ids never counted).
CREATE TABLE own_visitors (
    visitor_id TEXT NOT NULL,
    partner_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (visitor_id, partner_id)
);

-- "Pass it on": server-made shares with their parent; credit the root partner.
CREATE TABLE child_shares (
    token        TEXT PRIMARY KEY,
    parent_token TEXT NOT NULL,
    root_token   TEXT NOT NULL,
    item_id      BIGINT NOT NULL,
    partner_id   BIGINT NOT NULL,
    rep_id       BIGINT,
    company_id   BIGINT NOT NULL,
    depth        BIGINT NOT NULL,
    visitor_id   TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX child_shares_root ON child_shares(root_token);

-- The MAN flags are BOOLEAN: the Rust side binds them as bool, which
-- rusqlite stores as 0/1 and tokio-postgres only binds to BOOLEAN.
CREATE TABLE leads (
    id            BIGSERIAL PRIMARY KEY,
    company_id    BIGINT NOT NULL,
    rep_id        BIGINT,
    partner_id    BIGINT NOT NULL,
    name          TEXT NOT NULL,
    -- E.164; one lead per person per company (duplicates merge).
    phone         TEXT NOT NULL,
    note          TEXT NOT NULL,
    source        TEXT NOT NULL,
    share_token   TEXT,
    item_id       BIGINT,
    score         BIGINT NOT NULL,
    grade         TEXT NOT NULL,
    reasons       TEXT NOT NULL,
    man_money     BOOLEAN NOT NULL DEFAULT FALSE,
    man_authority BOOLEAN NOT NULL DEFAULT FALSE,
    man_need      BOOLEAN NOT NULL DEFAULT FALSE,
    stage         TEXT NOT NULL,
    contacts      BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (company_id, phone)
);

-- Anonymous visitors known to be a lead: their signals feed its score.
CREATE TABLE lead_visitors (
    visitor_id TEXT NOT NULL,
    lead_id    BIGINT NOT NULL,
    PRIMARY KEY (visitor_id, lead_id)
);
CREATE INDEX lead_visitors_lead ON lead_visitors(lead_id);

-- A company's scoring rules (JSON of warmlead_core::scoring::ScoringRules).
-- TEXT, not JSONB, as in SQLite: the server parses it, the database never looks inside.
CREATE TABLE scoring_rules (
    company_id BIGINT PRIMARY KEY,
    rules      TEXT NOT NULL
);

-- The radar entities travel in their own stream of the same log, so
-- clients that predate them never receive a body they cannot decode.
ALTER TABLE changes ADD COLUMN stream TEXT NOT NULL DEFAULT 'sync';
CREATE INDEX changes_stream_seq ON changes(company_id, stream, seq);
