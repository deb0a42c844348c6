-- One open one-time code per invitation and phone (issue 21). A new code
-- retires the older ones in its transaction; this index keeps two codes
-- asked for at the same moment (a double tap, two processes) from both
-- staying open, which would give an older code tries of its own once the
-- newer is spent. Older open codes at upgrade are retired now, all but the
-- newest of each phone.
UPDATE invitation_otps SET used_at = created_at
WHERE used_at IS NULL AND id NOT IN (
    SELECT MAX(id) FROM invitation_otps WHERE used_at IS NULL GROUP BY invitation_id, phone
);
CREATE UNIQUE INDEX invitation_otps_one_open ON invitation_otps(invitation_id, phone)
    WHERE used_at IS NULL;
