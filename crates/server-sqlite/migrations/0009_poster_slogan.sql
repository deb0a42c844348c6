-- The company's poster slogan (issue 8): the line under the rep's name on
-- the invitation poster. NULL: the neutral default of the app.
ALTER TABLE companies ADD COLUMN poster_slogan TEXT;
