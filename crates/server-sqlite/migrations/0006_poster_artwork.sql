-- The company's poster template (issue 4): the image every rep's invitation
-- poster is drawn on. NULL: the app's warm gradient.
ALTER TABLE companies ADD COLUMN poster_media_id INTEGER REFERENCES media(id);
