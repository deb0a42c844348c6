-- The company's poster template (issue 4): the image every rep's invitation
-- poster is drawn on. NULL: the app's warm gradient.
-- Twin of the SQLite 0006_poster_artwork.sql.
ALTER TABLE companies ADD COLUMN poster_media_id BIGINT REFERENCES media(id);
