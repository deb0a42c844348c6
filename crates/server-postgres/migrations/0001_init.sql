-- Warmlead server schema, version 1 (PostgreSQL twin of the SQLite
-- crates/server/migrations/0001_init.sql: same tables, columns, constraints
-- and index names; only the SQL dialect differs). Times are UTC
-- milliseconds in BIGINT, as in SQLite; ids BIGINT, blobs BYTEA.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE companies (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id         BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL REFERENCES companies(id),
    role       TEXT NOT NULL CHECK (role IN ('manager', 'rep', 'partner')),
    name       TEXT NOT NULL,
    phone      TEXT,
    rep_id     BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX users_company ON users(company_id);
CREATE INDEX users_rep ON users(rep_id);

CREATE TABLE devices (
    id         BIGSERIAL PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    name       TEXT NOT NULL,
    token_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE activation_codes (
    code_hash  BYTEA PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE TABLE media (
    id           BIGSERIAL PRIMARY KEY,
    company_id   BIGINT NOT NULL REFERENCES companies(id),
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    -- Relative to the media directory.
    path         TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE content_items (
    id             BIGSERIAL PRIMARY KEY,
    company_id     BIGINT NOT NULL REFERENCES companies(id),
    kind           TEXT NOT NULL CHECK (kind IN ('article', 'poster', 'video', 'case_study')),
    title          TEXT NOT NULL,
    summary        TEXT NOT NULL,
    body           TEXT NOT NULL,
    cover_media_id BIGINT REFERENCES media(id),
    video_media_id BIGINT REFERENCES media(id),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    deleted_at     BIGINT
);
CREATE INDEX content_items_company ON content_items(company_id);

CREATE TABLE shares (
    token      TEXT PRIMARY KEY,
    device_id  BIGINT NOT NULL REFERENCES devices(id),
    share_no   BIGINT NOT NULL,
    item_id    BIGINT NOT NULL REFERENCES content_items(id),
    partner_id BIGINT NOT NULL REFERENCES users(id),
    rep_id     BIGINT REFERENCES users(id),
    channel    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Named so 0007 can drop it (SQLite rebuilds the table instead).
    CONSTRAINT shares_device_share_no UNIQUE (device_id, share_no)
);

CREATE TABLE visits (
    id          BIGSERIAL PRIMARY KEY,
    page_view   TEXT NOT NULL UNIQUE,
    -- Named so 0002 can drop it (SQLite rebuilds the table instead).
    share_token TEXT NOT NULL CONSTRAINT visits_share_token_fkey REFERENCES shares(token),
    visitor_id  TEXT NOT NULL,
    opened_at   BIGINT NOT NULL,
    dwell_ms    BIGINT NOT NULL,
    item_id     BIGINT NOT NULL,
    partner_id  BIGINT NOT NULL,
    rep_id      BIGINT,
    -- Salted sha256 prefix; the address itself is never stored.
    ip_hash     TEXT
);
CREATE INDEX visits_share ON visits(share_token);

CREATE TABLE client_state (
    client_id TEXT PRIMARY KEY,
    last_seq  BIGINT NOT NULL
);

CREATE TABLE mutation_results (
    mutation_id TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    outcome     TEXT NOT NULL
);

-- The change log clients pull. Scope columns decide who sees a row:
-- audience 'company': everyone in the company; 'scoped': managers, the rep in
-- rep_id and the partner in partner_id; 'rep_team': managers, the rep in
-- rep_id and the partners bound to that rep.
--
-- BIGSERIAL never reuses a number, like SQLite's AUTOINCREMENT. Unlike
-- SQLite (one writer at a time), two PostgreSQL transactions can take seq
-- 11 and 12 and commit 12 first: a client pulling "after 10" in between
-- would then skip 11 for good. The PostgreSQL store must serialize appends
-- to this table (e.g. `LOCK TABLE changes IN SHARE ROW EXCLUSIVE MODE` in the
-- appending transaction) so seq order is commit order.
CREATE TABLE changes (
    seq        BIGSERIAL PRIMARY KEY,
    company_id BIGINT NOT NULL,
    rep_id     BIGINT,
    partner_id BIGINT,
    audience   TEXT NOT NULL CHECK (audience IN ('company', 'scoped', 'rep_team')),
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX changes_company_seq ON changes(company_id, seq);
