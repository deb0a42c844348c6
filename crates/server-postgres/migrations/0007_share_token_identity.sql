-- A share is identified by its token alone (it already encodes device,
-- share number, item, channel and a MAC). The old UNIQUE (device_id,
-- share_no) refused the shares of a desktop cache restored from a backup or
-- copied to a second computer, which number their shares again from where
-- the copy stood: every push of that device then failed.
-- Twin of the SQLite 0007_share_token_identity.sql, which rebuilds the table
-- because SQLite cannot drop a table constraint; PostgreSQL can.
ALTER TABLE shares DROP CONSTRAINT shares_device_share_no;
-- The highest share number a device has used (the desktop continues after it).
CREATE INDEX shares_device ON shares(device_id, share_no);
