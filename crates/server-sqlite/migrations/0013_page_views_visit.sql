-- Since issue 9 a visit's first page load is the visit row itself
-- (`visits.page_view`), not also a `page_views` row: one row less per new
-- view. Its dwell is the visit's less its other page loads', summed by
-- visit: that sum, and retention's purge by visit, need this index.
CREATE INDEX page_views_visit ON page_views(visit_id);
