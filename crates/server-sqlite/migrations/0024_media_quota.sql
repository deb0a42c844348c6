-- Each company's media quota (issue 18). `media_usage` is what a company's
-- media take on disk plus what its uploads under way have reserved, kept
-- as one counter so that taking room is one conditional statement (two
-- uploads at once can never both pass the quota).
CREATE TABLE media_usage (
    company_id INTEGER PRIMARY KEY REFERENCES companies(id),
    bytes      INTEGER NOT NULL
);
INSERT INTO media_usage (company_id, bytes)
    SELECT company_id, SUM(size) FROM media GROUP BY company_id;
-- The room an upload under way holds; touched as it streams. A crashed
-- upload's room is given back by the media sweep once it is stale.
CREATE TABLE media_reservations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies(id),
    bytes      INTEGER NOT NULL,
    touched_at INTEGER NOT NULL
);
CREATE INDEX media_reservations_touched ON media_reservations(touched_at);
-- The sweep looks at media older than its grace period.
CREATE INDEX media_created ON media(created_at);
