-- Warmlead desktop cache, schema 8: the company profile (issue 10): the logo
-- (a media reference, JSON like the poster artwork) and the commission
-- promise. NULL: none set. The session's company_json carries the same fields.
ALTER TABLE company ADD COLUMN logo_json TEXT;
ALTER TABLE company ADD COLUMN commission_promise TEXT;
