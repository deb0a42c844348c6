-- The index of a visitor's visits of a share leads with the visitor
-- (issue 9's durable views/s). New visitors' ids start with the time
-- (UUIDv7), so a new view's entry goes at the end of the index instead of
-- dirtying a page anywhere in it, which the commit then wrote to the WAL.
-- Every lookup names both columns (the latest visit, the burst count by
-- visitor, a lead's visitor); visits_share_network (share_token, ...)
-- still serves the lookups by share alone.
DROP INDEX visits_share_visitor;
CREATE INDEX visits_visitor_share ON visits(visitor_id, share_token);
