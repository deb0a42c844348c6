-- Issue 21: a visitor's visits of a share are numbered by a unique key, so
-- two server processes opening the same visitor's next visit at once cannot
-- both store it (the second's insert waits for the first and then finds its
-- number taken: its batch runs again and merges the page load into the
-- visit the first opened). Visits numbered twice before are numbered again
-- in id order. The index keeps its name and its two leading columns, which
-- every lookup of a visitor's visits of a share names.
UPDATE visits SET visit_no = (
    SELECT COUNT(*) FROM visits w
    WHERE w.visitor_id = visits.visitor_id AND w.share_token = visits.share_token
      AND w.id <= visits.id)
WHERE (visitor_id, share_token) IN (
    SELECT visitor_id, share_token FROM visits
    GROUP BY visitor_id, share_token, visit_no HAVING COUNT(*) > 1);
DROP INDEX visits_visitor_share;
CREATE UNIQUE INDEX visits_visitor_share ON visits(visitor_id, share_token, visit_no);

-- The burst filter's window becomes one row per share and network, holding
-- the times of its new visits in the last minutes: a tracking batch locks
-- the rows of the networks it opens visits for as it reads them (one
-- INSERT .. ON CONFLICT DO UPDATE .. RETURNING), so two processes' batches
-- count one network one after the other and the limit holds across
-- processes (the rows of `recent_opens` could only be counted, not locked,
-- and two batches both counted below the limit). UNLOGGED as before: shared
-- by every process, emptied after a crash. `newest` finds rows to forget.
CREATE UNLOGGED TABLE burst_windows (
    network BIGINT PRIMARY KEY,
    opens   BIGINT[] NOT NULL,
    newest  BIGINT NOT NULL
);
CREATE INDEX burst_windows_newest ON burst_windows(newest);
INSERT INTO burst_windows (network, opens, newest)
SELECT network, array_agg(opened_at ORDER BY opened_at), MAX(opened_at)
FROM recent_opens GROUP BY network;
DROP TABLE recent_opens;
