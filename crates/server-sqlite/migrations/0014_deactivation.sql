-- A manager switches a rep or a partner off (issue 10): every device token
-- of theirs is refused while this is set, and so are their activation codes.
-- Reactivating clears it. Their partners, leads and shares stay as they are.
ALTER TABLE users ADD COLUMN deactivated_at INTEGER;
-- When each device last reached the server (at most once a minute), for
-- the team screen's "last seen".
ALTER TABLE devices ADD COLUMN last_seen_at INTEGER;
