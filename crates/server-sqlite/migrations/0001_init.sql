-- Warmlead server schema, version 1. Times are UTC milliseconds.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

CREATE TABLE companies (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    role       TEXT NOT NULL CHECK (role IN ('manager', 'rep', 'partner')),
    name       TEXT NOT NULL,
    phone      TEXT,
    rep_id     INTEGER REFERENCES users(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX users_company ON users(company_id);
CREATE INDEX users_rep ON users(rep_id);

CREATE TABLE devices (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    name       TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE activation_codes (
    code_hash  BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE media (
    id           INTEGER PRIMARY KEY,
    company_id   INTEGER NOT NULL REFERENCES companies(id),
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    -- Relative to the media directory.
    path         TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE content_items (
    id             INTEGER PRIMARY KEY,
    company_id     INTEGER NOT NULL REFERENCES companies(id),
    kind           TEXT NOT NULL CHECK (kind IN ('article', 'poster', 'video', 'case_study')),
    title          TEXT NOT NULL,
    summary        TEXT NOT NULL,
    body           TEXT NOT NULL,
    cover_media_id INTEGER REFERENCES media(id),
    video_media_id INTEGER REFERENCES media(id),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER
);
CREATE INDEX content_items_company ON content_items(company_id);

CREATE TABLE shares (
    token      TEXT PRIMARY KEY,
    device_id  INTEGER NOT NULL REFERENCES devices(id),
    share_no   INTEGER NOT NULL,
    item_id    INTEGER NOT NULL REFERENCES content_items(id),
    partner_id INTEGER NOT NULL REFERENCES users(id),
    rep_id     INTEGER REFERENCES users(id),
    channel    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (device_id, share_no)
);

CREATE TABLE visits (
    id          INTEGER PRIMARY KEY,
    page_view   TEXT NOT NULL UNIQUE,
    share_token TEXT NOT NULL REFERENCES shares(token),
    visitor_id  TEXT NOT NULL,
    opened_at   INTEGER NOT NULL,
    dwell_ms    INTEGER NOT NULL,
    item_id     INTEGER NOT NULL,
    partner_id  INTEGER NOT NULL,
    rep_id      INTEGER,
    -- Salted sha256 prefix; the address itself is never stored.
    ip_hash     TEXT
);
CREATE INDEX visits_share ON visits(share_token);

CREATE TABLE client_state (
    client_id TEXT PRIMARY KEY,
    last_seq  INTEGER NOT NULL
);

CREATE TABLE mutation_results (
    mutation_id TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    outcome     TEXT NOT NULL
);

-- The change log clients pull. Scope columns decide who sees a row:
-- audience 'company': everyone in the company; 'scoped': managers, the rep in
-- rep_id and the partner in partner_id; 'rep_team': managers, the rep in
-- rep_id and the partners bound to that rep.
CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL,
    rep_id     INTEGER,
    partner_id INTEGER,
    audience   TEXT NOT NULL CHECK (audience IN ('company', 'scoped', 'rep_team')),
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX changes_company_seq ON changes(company_id, seq);
