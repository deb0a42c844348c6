-- Warmlead desktop cache, schema 4: the company's poster template (issue 4).
-- The MediaRef as JSON (id, content type, size); NULL: the warm gradient.
-- The session's company_json carries the same field.
ALTER TABLE company ADD COLUMN poster_artwork_json TEXT;
