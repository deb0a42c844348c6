-- Every optimistic local write has its undo (issue 18): when the server
-- refuses a change for good, the local change is rolled back in the
-- transaction that records the refusal, and the refusal stays listed until
-- the user dismisses it.
--
-- subject: what the change was about as the user saw it when making it
-- (an item's title, a lead's name), kept for the rejection list since the
-- undo may remove the thing itself.
-- server_copy: JSON of the server's last known state of what an edit
-- overwrote here (a name, a lead's MAN flags), put back if it is refused.
ALTER TABLE outbox ADD COLUMN subject TEXT;
ALTER TABLE outbox ADD COLUMN server_copy TEXT;

-- Caches of earlier versions kept refused shares (listed as synced) and
-- refused invitations (as revoked). Neither exists on the server.
UPDATE outbox SET subject = (
    SELECT title FROM content_items
    WHERE id = json_extract(outbox.args, '$.item_id'))
WHERE name IN ('create_share', 'delete_content_item');
DELETE FROM shares WHERE token IN (
    SELECT json_extract(args, '$.token') FROM outbox
    WHERE state = 'rejected' AND name = 'create_share');
-- A refusal dismissed before this version took its outbox row along and
-- left the share pointing at no row (a share the server took has none).
DELETE FROM shares WHERE outbox_seq IS NOT NULL
    AND outbox_seq NOT IN (SELECT seq FROM outbox);
DELETE FROM invitations WHERE id < 0 AND invite_no IN (
    SELECT json_extract(args, '$.invite_no') FROM outbox
    WHERE state = 'rejected' AND name = 'create_invitation');
