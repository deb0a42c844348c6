-- Warmlead desktop cache, schema 9: invitations made on this device with no
-- network (issue 10). Such a row has the negative id -invite_no until the
-- server's row for it arrives by pull (matched by its URL, which names the
-- signed token), then it takes the server's id and keeps its invite_no.
ALTER TABLE invitations ADD COLUMN invite_no INTEGER;
CREATE UNIQUE INDEX invitations_url ON invitations (url) WHERE url <> '';
CREATE INDEX invitations_invite_no ON invitations (invite_no) WHERE invite_no IS NOT NULL;
-- Its counter, 'invite_no' in counters, is made by the first invitation.
