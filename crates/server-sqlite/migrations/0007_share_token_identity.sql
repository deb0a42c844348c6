-- A share is identified by its token alone (it already encodes device,
-- share number, item, channel and a MAC). The old UNIQUE (device_id,
-- share_no) refused the shares of a desktop cache restored from a backup or
-- copied to a second computer, which number their shares again from where
-- the copy stood: every push of that device then failed. SQLite cannot drop
-- a table constraint, so the table is rebuilt. Nothing references it by a
-- foreign key since 0002 (visits and child_shares hold the token as text).

CREATE TABLE shares_new (
    token      TEXT PRIMARY KEY,
    device_id  INTEGER NOT NULL REFERENCES devices(id),
    share_no   INTEGER NOT NULL,
    item_id    INTEGER NOT NULL REFERENCES content_items(id),
    partner_id INTEGER NOT NULL REFERENCES users(id),
    rep_id     INTEGER REFERENCES users(id),
    channel    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
INSERT INTO shares_new (token, device_id, share_no, item_id, partner_id, rep_id, channel, created_at)
    SELECT token, device_id, share_no, item_id, partner_id, rep_id, channel, created_at FROM shares;
DROP TABLE shares;
ALTER TABLE shares_new RENAME TO shares;
-- The highest share number a device has used (the desktop continues after it).
CREATE INDEX shares_device ON shares(device_id, share_no);
