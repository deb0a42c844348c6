-- Media addresses that cannot be guessed (issue 8): /media/{public_key}
-- instead of /media/{id}, which handed out every file by counting. 128
-- random bits, hex; old rows get theirs here. Devices learn the keys of the
-- media they already cached from changes appended right after this
-- migration (storage::content::announce_media_keys).
ALTER TABLE media ADD COLUMN public_key TEXT;
UPDATE media SET public_key = lower(hex(randomblob(16))) WHERE public_key IS NULL;
CREATE UNIQUE INDEX media_public_key ON media(public_key);
