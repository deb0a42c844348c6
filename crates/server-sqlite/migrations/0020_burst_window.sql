-- The burst filter's count of a share's new visits per network in the last
-- minute moves out of `visits` (issue 9's durable views/s). Its index led
-- with the share token: with views spread over many shares, every new view
-- dirtied a page anywhere in it, about 60 % of what a tracking batch wrote
-- to the WAL. SQLite has one writer, which now keeps the last minutes' new
-- visits in memory (`signals::RecentOpens`, filled again from the newest
-- visits at start); PostgreSQL, whose processes share the count, keeps them
-- in an UNLOGGED table (its migration 0020). No query of the tracking path
-- looks up visits by share alone any more.
DROP INDEX visits_share_network;
