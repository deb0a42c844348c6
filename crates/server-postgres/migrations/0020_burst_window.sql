-- The burst filter's count of a share's new visits per network in the last
-- minute moves out of `visits` (issue 9): its index led with the share
-- token, so every new view dirtied (and WAL-logged) a page anywhere in it.
-- The count now reads `recent_opens`, which holds only the last minutes.
-- UNLOGGED: never WAL-logged, shared by every server process (the count
-- still spans processes), emptied by PostgreSQL after a crash (the filter
-- then starts counting afresh). SQLite, with its one writer, keeps the same
-- rows in that writer's memory instead (`signals::RecentOpens`); the parity
-- test knows this is the one table only PostgreSQL has.
DROP INDEX visits_share_network;
CREATE UNLOGGED TABLE recent_opens (
    network   BIGINT NOT NULL,
    opened_at BIGINT NOT NULL
);
CREATE INDEX recent_opens_network ON recent_opens(network, opened_at);
CREATE INDEX recent_opens_at ON recent_opens(opened_at);
