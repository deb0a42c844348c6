-- The radar (issue 3): signals, visit aggregates, reload merging, forward
-- chains, leads, not-view counters, the radar change stream.

-- Visits are rebuilt without the foreign key to shares: a visit may come
-- through a child share (a forward), which lives in child_shares.
CREATE TABLE visits_new (
    id           INTEGER PRIMARY KEY,
    -- The first page view of the visit; later ones are in page_views.
    page_view    TEXT NOT NULL UNIQUE,
    share_token  TEXT NOT NULL,
    -- The partner's own share credited (= share_token unless forwarded).
    root_token   TEXT NOT NULL,
    visitor_id   TEXT NOT NULL,
    opened_at    INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    dwell_ms     INTEGER NOT NULL,
    scroll_pct   INTEGER NOT NULL DEFAULT 0,
    video_s      INTEGER NOT NULL DEFAULT 0,
    video_len_s  INTEGER NOT NULL DEFAULT 0,
    visit_no     INTEGER NOT NULL DEFAULT 1,
    page_views   INTEGER NOT NULL DEFAULT 1,
    item_id      INTEGER NOT NULL,
    partner_id   INTEGER NOT NULL,
    rep_id       INTEGER,
    ip_hash      TEXT
);
INSERT INTO visits_new (id, page_view, share_token, root_token, visitor_id, opened_at,
                        last_seen_at, dwell_ms, item_id, partner_id, rep_id, ip_hash)
    SELECT id, page_view, share_token, share_token, visitor_id, opened_at,
           opened_at, dwell_ms, item_id, partner_id, rep_id, ip_hash
    FROM visits;
DROP TABLE visits;
ALTER TABLE visits_new RENAME TO visits;
CREATE INDEX visits_share ON visits(share_token);
CREATE INDEX visits_share_visitor ON visits(share_token, visitor_id, last_seen_at);

-- Every page load (its random id) and the visit it was merged into.
CREATE TABLE page_views (
    pv       TEXT PRIMARY KEY,
    visit_id INTEGER NOT NULL,
    dwell_ms INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO page_views (pv, visit_id, dwell_ms) SELECT page_view, id, dwell_ms FROM visits;

-- Append-only: what viewers did. Raw rows are purged after the retention
-- period (visits keep their aggregates; leads keep their score).
CREATE TABLE signals (
    id          INTEGER PRIMARY KEY,
    share_token TEXT NOT NULL,
    visit_id    INTEGER,
    visitor_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    value       INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    company_id  INTEGER NOT NULL,
    partner_id  INTEGER NOT NULL,
    item_id     INTEGER NOT NULL
);
CREATE INDEX signals_visitor ON signals(visitor_id, id);
CREATE INDEX signals_at ON signals(at);

-- Requests not counted as views, by company and reason.
CREATE TABLE filtered_hits (
    company_id INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (company_id, reason)
) WITHOUT ROWID;

-- Browsers the sharer opened their own link in (visitor ids never counted).
CREATE TABLE own_visitors (
    visitor_id TEXT NOT NULL,
    partner_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (visitor_id, partner_id)
) WITHOUT ROWID;

-- "Pass it on": server-made shares with their parent; credit the root partner.
CREATE TABLE child_shares (
    token        TEXT PRIMARY KEY,
    parent_token TEXT NOT NULL,
    root_token   TEXT NOT NULL,
    item_id      INTEGER NOT NULL,
    partner_id   INTEGER NOT NULL,
    rep_id       INTEGER,
    company_id   INTEGER NOT NULL,
    depth        INTEGER NOT NULL,
    visitor_id   TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX child_shares_root ON child_shares(root_token);

CREATE TABLE leads (
    id            INTEGER PRIMARY KEY,
    company_id    INTEGER NOT NULL,
    rep_id        INTEGER,
    partner_id    INTEGER NOT NULL,
    name          TEXT NOT NULL,
    -- E.164; one lead per person per company (duplicates merge).
    phone         TEXT NOT NULL,
    note          TEXT NOT NULL,
    source        TEXT NOT NULL,
    share_token   TEXT,
    item_id       INTEGER,
    score         INTEGER NOT NULL,
    grade         TEXT NOT NULL,
    reasons       TEXT NOT NULL,
    man_money     INTEGER NOT NULL DEFAULT 0,
    man_authority INTEGER NOT NULL DEFAULT 0,
    man_need      INTEGER NOT NULL DEFAULT 0,
    stage         TEXT NOT NULL,
    contacts      INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (company_id, phone)
);

-- Anonymous visitors known to be a lead: their signals feed its score.
CREATE TABLE lead_visitors (
    visitor_id TEXT NOT NULL,
    lead_id    INTEGER NOT NULL,
    PRIMARY KEY (visitor_id, lead_id)
) WITHOUT ROWID;
CREATE INDEX lead_visitors_lead ON lead_visitors(lead_id);

-- A company's scoring rules (JSON of warmlead_core::scoring::ScoringRules).
CREATE TABLE scoring_rules (
    company_id INTEGER PRIMARY KEY,
    rules      TEXT NOT NULL
);

-- The radar entities travel in their own stream of the same log, so
-- clients that predate them never receive a body they cannot decode.
ALTER TABLE changes ADD COLUMN stream TEXT NOT NULL DEFAULT 'sync';
CREATE INDEX changes_stream_seq ON changes(company_id, stream, seq);
