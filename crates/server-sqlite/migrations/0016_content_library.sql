-- The content library written in the app (issue 10): drafts, live and
-- archived items, their author, who they reach, case-study fields, and
-- the media an item shows (cover, video, case-study photos, the images
-- placed in an article), which are public while the item is live.
ALTER TABLE content_items ADD COLUMN item_key TEXT;
ALTER TABLE content_items ADD COLUMN status TEXT NOT NULL DEFAULT 'live'
    CHECK (status IN ('draft', 'live', 'archived'));
ALTER TABLE content_items ADD COLUMN owner_id INTEGER REFERENCES users(id);
-- JSON of warmlead_core::domain::ContentAudience.
ALTER TABLE content_items ADD COLUMN audience TEXT NOT NULL DEFAULT '{"to":"company"}';
-- JSON of warmlead_core::domain::CaseStudy (case studies only).
ALTER TABLE content_items ADD COLUMN case_study TEXT;
UPDATE content_items SET item_key = 'item-' || id WHERE item_key IS NULL;
CREATE UNIQUE INDEX content_items_key ON content_items(company_id, item_key);

CREATE TABLE content_item_media (
    item_id  INTEGER NOT NULL REFERENCES content_items(id),
    media_id INTEGER NOT NULL REFERENCES media(id),
    PRIMARY KEY (item_id, media_id)
);
CREATE INDEX content_item_media_media ON content_item_media(media_id);
INSERT INTO content_item_media (item_id, media_id)
    SELECT id, cover_media_id FROM content_items WHERE cover_media_id IS NOT NULL
    UNION
    SELECT id, video_media_id FROM content_items WHERE video_media_id IS NOT NULL;
