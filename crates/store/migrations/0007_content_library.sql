-- The content library written in the app (issue 10): what the server says
-- of each item (status, author, audience, case-study fields), and the
-- author's own copy of what they are writing, kept here as they type (also
-- offline) until the server has every change of it.
ALTER TABLE content_items ADD COLUMN item_key TEXT NOT NULL DEFAULT '';
ALTER TABLE content_items ADD COLUMN status TEXT NOT NULL DEFAULT 'live';
ALTER TABLE content_items ADD COLUMN owner_id INTEGER;
ALTER TABLE content_items ADD COLUMN audience_json TEXT NOT NULL DEFAULT '{"to":"company"}';
ALTER TABLE content_items ADD COLUMN case_study_json TEXT;

CREATE TABLE content_edits (
    item_key    TEXT    PRIMARY KEY,
    -- JSON of warmlead_core::api::ContentDraft: the whole editable state.
    draft_json  TEXT    NOT NULL,
    -- The status asked for (publish, archive) until the server confirms it.
    status      TEXT,
    created_at_ms INTEGER NOT NULL,
    saved_at_ms INTEGER NOT NULL
);
