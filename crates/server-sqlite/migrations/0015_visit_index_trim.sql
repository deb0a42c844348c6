-- Fewer random-key indexes on visits (issue 9's durable views/s): every new
-- view inserted into each at a random position, dirtying a page of each per
-- view that the commit then writes to the WAL and syncs.
-- visits_share (share_token) is the first column of visits_share_visitor
-- and visits_share_network, which serve every lookup by share token.
DROP INDEX visits_share;
-- visits_root served only the admin read of a share's visits with those of
-- its forwards, which now finds the forwards through child_shares_root.
DROP INDEX visits_root;
