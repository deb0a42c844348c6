-- Issue 18. A pushed mutation's stored outcome belongs to the device that
-- pushed it: keyed by (client_id, mutation_id), so a device that sends an
-- id another device used has its own change applied instead of getting
-- that device's outcome back. Every stored outcome is kept.
CREATE TABLE mutation_results_by_device (
    mutation_id TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    PRIMARY KEY (client_id, mutation_id)
);
INSERT INTO mutation_results_by_device (mutation_id, client_id, seq, outcome)
    SELECT mutation_id, client_id, seq, outcome FROM mutation_results;
DROP TABLE mutation_results;
ALTER TABLE mutation_results_by_device RENAME TO mutation_results;

-- Who uploaded each media file: only they may attach it to an item until a
-- live item shows it (attaching answers its key and publishing makes it
-- public). Files from before are credited to the author of the first item
-- that shows them; the rest (the company's artwork and logo, unused files)
-- stay without an uploader, which only managers may use.
ALTER TABLE media ADD COLUMN uploaded_by INTEGER REFERENCES users(id);
UPDATE media SET uploaded_by = (
    SELECT ci.owner_id FROM content_item_media cim
    JOIN content_items ci ON ci.id = cim.item_id
    WHERE cim.media_id = media.id AND ci.owner_id IS NOT NULL
    ORDER BY ci.id LIMIT 1
);
