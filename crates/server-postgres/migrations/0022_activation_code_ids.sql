-- Activation codes get an id, so a manager can revoke one without the code
-- (only its hash is stored), and a revocation time (issue 18). A person
-- has at most one open code: a new one retires the older ones in the same
-- transaction, and the unique index below keeps two from being open at
-- once even when two are issued together (READ COMMITTED would let both
-- retire nothing and insert). Older open codes of one person that exist
-- at upgrade are retired now, all but the newest.
ALTER TABLE activation_codes DROP CONSTRAINT activation_codes_pkey;
ALTER TABLE activation_codes ADD COLUMN id BIGSERIAL;
-- Existing codes numbered in the order they were made, as in SQLite.
UPDATE activation_codes a SET id = o.n
FROM (SELECT code_hash, row_number() OVER (ORDER BY created_at, code_hash) AS n
      FROM activation_codes) o
WHERE o.code_hash = a.code_hash;
SELECT setval(pg_get_serial_sequence('activation_codes', 'id'),
              COALESCE((SELECT MAX(id) FROM activation_codes), 0) + 1, false);
ALTER TABLE activation_codes ADD PRIMARY KEY (id);
ALTER TABLE activation_codes ADD CONSTRAINT activation_codes_code_hash_key UNIQUE (code_hash);
ALTER TABLE activation_codes ADD COLUMN revoked_at BIGINT;
UPDATE activation_codes SET revoked_at = (extract(epoch FROM now()) * 1000)::BIGINT
WHERE used_at IS NULL AND id NOT IN (
    SELECT MAX(id) FROM activation_codes WHERE used_at IS NULL GROUP BY user_id
);
CREATE UNIQUE INDEX activation_codes_one_open ON activation_codes(user_id)
    WHERE used_at IS NULL AND revoked_at IS NULL;
