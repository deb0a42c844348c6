-- New visits of a share per network in the last minute (the burst filter,
-- `botfilter::is_burst`): counted on every new visit, so it needs an index.
CREATE INDEX visits_share_network ON visits(share_token, ip_hash, opened_at);
