-- Twin of the SQLite 0003_visit_indexes.sql: "the visitor's latest visit of
-- this share" must be an index lookup.
DROP INDEX visits_share_visitor;
CREATE INDEX visits_share_visitor ON visits(share_token, visitor_id);
CREATE INDEX visits_root ON visits(root_token);
