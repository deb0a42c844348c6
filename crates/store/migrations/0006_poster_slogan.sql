-- Warmlead desktop cache, schema 6: the company's poster slogan (issue 8).
-- NULL: the neutral default. The session's company_json carries the same field.
ALTER TABLE company ADD COLUMN poster_slogan TEXT;
