-- Media addresses that cannot be guessed (issue 8): /media/{public_key}
-- instead of /media/{id}, which handed out every file by counting.
-- Twin of the SQLite 0008_media_keys.sql (128 random bits, hex).
--
-- Old rows get a key from gen_random_uuid() (built in since PostgreSQL 13,
-- cryptographically random; 122 random bits, as pgcrypto is not assumed):
-- 32 hex digits like SQLite's lower(hex(randomblob(16))). The new rows the
-- server inserts carry 128 bits it draws itself.
--
-- The SQLite runner also appends, in this migration's transaction, the
-- changes announcing the keys to devices (storage::content::announce_media_keys).
-- The PostgreSQL backend has no such hook: no PostgreSQL database predates
-- this schema (the backend arrives with issue 9, after 0008), so there are
-- no devices holding key-less media to tell.
ALTER TABLE media ADD COLUMN public_key TEXT;
UPDATE media SET public_key = replace(gen_random_uuid()::text, '-', '') WHERE public_key IS NULL;
CREATE UNIQUE INDEX media_public_key ON media(public_key);
