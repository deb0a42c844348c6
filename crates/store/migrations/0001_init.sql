-- Warmlead desktop cache, schema 1.
-- Times are UTC milliseconds. Server-derived tables mirror what sync pulls;
-- the outbox holds what this device changed and has not yet pushed.

-- The signed-in device (at most one row).
CREATE TABLE session (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    server_url      TEXT    NOT NULL,
    device_id       INTEGER NOT NULL,
    device_token    TEXT    NOT NULL,
    share_key       TEXT    NOT NULL,
    public_base_url TEXT    NOT NULL,
    user_json       TEXT    NOT NULL,
    company_json    TEXT    NOT NULL,
    epoch           TEXT    NOT NULL
);

-- Where pulling stands (exactly one row).
CREATE TABLE sync_state (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    epoch          TEXT,
    cursor         INTEGER NOT NULL DEFAULT 0,
    last_synced_at INTEGER,
    last_error     TEXT
);
INSERT INTO sync_state (id, cursor) VALUES (1, 0);

-- Local counters: the outbox seq and the share number. Kept apart from the
-- tables so pruning applied outbox rows never reuses a number.
CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('outbox_seq', 0), ('share_no', 0);

-- Changes made on this device, pushed in seq order.
CREATE TABLE outbox (
    seq            INTEGER PRIMARY KEY,
    mutation_id    TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    args           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    state          TEXT    NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'applied', 'rejected')),
    error_code     TEXT,
    error_message  TEXT,
    resolved_at    INTEGER
);
CREATE INDEX outbox_state ON outbox (state, seq);

-- Server-derived tables (cleared when the server's epoch changes).
CREATE TABLE company (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL,
    role       TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    phone      TEXT,
    rep_id     INTEGER
);

CREATE TABLE content_items (
    id            INTEGER PRIMARY KEY,
    company_id    INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    summary       TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    cover_json    TEXT,
    video_json    TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    -- Set by a local delete that has not been pushed yet.
    deleted       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX content_items_newest ON content_items (created_at_ms DESC, id DESC);

-- Shares: made here (outbox_seq set until pushed) or pulled from the server.
CREATE TABLE shares (
    token         TEXT    PRIMARY KEY,
    device_id     INTEGER NOT NULL,
    share_no      INTEGER NOT NULL,
    item_id       INTEGER NOT NULL,
    partner_id    INTEGER NOT NULL,
    channel       TEXT    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    outbox_seq    INTEGER
);
CREATE INDEX shares_item ON shares (item_id, partner_id);

CREATE TABLE visits (
    id           INTEGER PRIMARY KEY,
    share_token  TEXT    NOT NULL,
    item_id      INTEGER NOT NULL,
    partner_id   INTEGER NOT NULL,
    rep_id       INTEGER NOT NULL,
    visitor_id   TEXT    NOT NULL,
    opened_at_ms INTEGER NOT NULL,
    dwell_ms     INTEGER NOT NULL
);
CREATE INDEX visits_newest ON visits (opened_at_ms DESC, id DESC);
