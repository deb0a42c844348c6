-- "The visitor's latest visit of this share" must be an index lookup:
-- with last_seen_at in the index, SQLite answered ORDER BY id DESC LIMIT 1
-- by walking the table backwards (quadratic under load).
DROP INDEX visits_share_visitor;
CREATE INDEX visits_share_visitor ON visits(share_token, visitor_id);
CREATE INDEX visits_root ON visits(root_token);
