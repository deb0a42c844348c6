-- Issue 21: a visitor's visits of a share are numbered by a unique key, so
-- two server processes opening the same visitor's next visit at once cannot
-- both store it (the second's insert waits for the first and then finds its
-- number taken: its batch runs again and merges the page load into the
-- visit the first opened). Visits numbered twice before (only possible on
-- PostgreSQL with several processes) are numbered again in id order. The
-- index keeps its name and its two leading columns, which every lookup of
-- a visitor's visits of a share names.
UPDATE visits SET visit_no = (
    SELECT COUNT(*) FROM visits w
    WHERE w.visitor_id = visits.visitor_id AND w.share_token = visits.share_token
      AND w.id <= visits.id)
WHERE (visitor_id, share_token) IN (
    SELECT visitor_id, share_token FROM visits
    GROUP BY visitor_id, share_token, visit_no HAVING COUNT(*) > 1);
DROP INDEX visits_visitor_share;
CREATE UNIQUE INDEX visits_visitor_share ON visits(visitor_id, share_token, visit_no);
