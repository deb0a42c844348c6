-- Activation codes get an id, so a manager can revoke one without the code
-- (only its hash is stored), and a revocation time (issue 18). A person
-- has at most one open code: a new one retires the older ones in the same
-- transaction, and the unique index below keeps two from being open at
-- once even when two are issued together. Older open codes of one person
-- that exist at upgrade are retired now, all but the newest.
CREATE TABLE activation_codes_new (
    id         INTEGER PRIMARY KEY,
    code_hash  BLOB NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    revoked_at INTEGER
);
INSERT INTO activation_codes_new (code_hash, user_id, created_at, expires_at, used_at)
    SELECT code_hash, user_id, created_at, expires_at, used_at FROM activation_codes
    ORDER BY created_at, code_hash;
DROP TABLE activation_codes;
ALTER TABLE activation_codes_new RENAME TO activation_codes;
UPDATE activation_codes SET revoked_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000
WHERE used_at IS NULL AND id NOT IN (
    SELECT MAX(id) FROM activation_codes WHERE used_at IS NULL GROUP BY user_id
);
CREATE UNIQUE INDEX activation_codes_one_open ON activation_codes(user_id)
    WHERE used_at IS NULL AND revoked_at IS NULL;
