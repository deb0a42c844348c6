-- The company profile (issue 10): the logo (an uploaded PNG or JPEG of the
-- company, shown on public pages and posters) and the one-line commission
-- promise of the invitation pages. NULL: the first letter of the name, the
-- neutral default sentence.
ALTER TABLE companies ADD COLUMN logo_media_id INTEGER REFERENCES media(id);
ALTER TABLE companies ADD COLUMN commission_promise TEXT;
