-- Warmlead desktop cache, schema 2: the radar stream (leads, their grade
-- reasons, signals, visit aggregates, forward chains) and its own cursor.

CREATE TABLE radar_state (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    epoch  TEXT,
    cursor INTEGER NOT NULL DEFAULT 0
);
INSERT INTO radar_state (id, cursor) VALUES (1, 0);

CREATE TABLE leads (
    id            INTEGER PRIMARY KEY,
    company_id    INTEGER NOT NULL,
    rep_id        INTEGER,
    partner_id    INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    phone         TEXT    NOT NULL,
    note          TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    share_token   TEXT,
    item_id       INTEGER,
    score         INTEGER NOT NULL,
    grade         TEXT    NOT NULL,
    man_money     INTEGER NOT NULL,
    man_authority INTEGER NOT NULL,
    man_need      INTEGER NOT NULL,
    stage         TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    contacts      INTEGER NOT NULL
);
-- Keyset order of the list, and the same order under each filter.
CREATE INDEX leads_newest ON leads (updated_at_ms DESC, id DESC);
CREATE INDEX leads_grade ON leads (grade, updated_at_ms DESC, id DESC);
CREATE INDEX leads_partner ON leads (partner_id, grade, updated_at_ms DESC, id DESC);
CREATE INDEX leads_item ON leads (item_id, updated_at_ms DESC, id DESC);

-- Why a lead has its grade, in the server's stable order.
CREATE TABLE lead_reasons (
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    ord     INTEGER NOT NULL,
    code    TEXT    NOT NULL,
    value   INTEGER NOT NULL,
    points  INTEGER NOT NULL,
    PRIMARY KEY (lead_id, ord)
) WITHOUT ROWID;

CREATE TABLE signals (
    id          INTEGER PRIMARY KEY,
    share_token TEXT    NOT NULL,
    visit_id    INTEGER,
    visitor_id  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    value       INTEGER NOT NULL,
    at_ms       INTEGER NOT NULL,
    partner_id  INTEGER NOT NULL,
    item_id     INTEGER NOT NULL,
    lead_id     INTEGER
);
CREATE INDEX signals_visitor ON signals (visitor_id, at_ms);
CREATE INDEX signals_lead ON signals (lead_id);

CREATE TABLE visit_stats (
    visit_id        INTEGER PRIMARY KEY,
    share_token     TEXT    NOT NULL,
    root_token      TEXT    NOT NULL,
    item_id         INTEGER NOT NULL,
    partner_id      INTEGER NOT NULL,
    rep_id          INTEGER,
    visitor_id      TEXT    NOT NULL,
    opened_at_ms    INTEGER NOT NULL,
    last_seen_at_ms INTEGER NOT NULL,
    dwell_ms        INTEGER NOT NULL,
    scroll_pct      INTEGER NOT NULL,
    video_pct       INTEGER NOT NULL,
    visit_no        INTEGER NOT NULL,
    page_views      INTEGER NOT NULL
);
CREATE INDEX visit_stats_visitor ON visit_stats (visitor_id, opened_at_ms);

CREATE TABLE child_shares (
    token         TEXT    PRIMARY KEY,
    parent_token  TEXT    NOT NULL,
    root_token    TEXT    NOT NULL,
    item_id       INTEGER NOT NULL,
    partner_id    INTEGER NOT NULL,
    depth         INTEGER NOT NULL,
    visitor_id    TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX child_shares_root ON child_shares (root_token);
