-- Invitations made on the rep's device with no network (issue 10): the
-- token is signed there (warmlead-core's invite::offline) and the server
-- records the invitation when a phone first opens it, or when the app syncs
-- it, one row either way (token_hash is unique). The device that made it:
-- once revoked, its invitations stop working.
ALTER TABLE invitations ADD COLUMN device_id INTEGER REFERENCES devices(id);
-- The device's own number of the invitation (1, 2, 3, ...).
ALTER TABLE invitations ADD COLUMN invite_no INTEGER;
-- No invitation is accepted more often than it allows, whatever the code
-- does (the accept is a guarded update too). SQLite cannot add a CHECK to a
-- table, so a trigger says it.
CREATE TRIGGER invitations_uses_within_max BEFORE UPDATE OF uses ON invitations
WHEN NEW.max_uses IS NOT NULL AND NEW.uses > NEW.max_uses
BEGIN
    SELECT RAISE(ABORT, 'invitations_uses_within_max: used more often than it allows');
END;
