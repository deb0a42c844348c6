-- Images placed in an article written here, kept until the server has them
-- (issue 10: an article with images can be written with no network). The
-- key is the media's address on the server (`/media/{key}`), picked here so
-- the article's <img> is final before the upload. The next sync uploads each
-- pending image under its key before it pushes the outbox; an image the
-- server refuses for good is kept as 'rejected' with the reason, shown
-- beside the rejected changes, and never holds up the rest.
CREATE TABLE pending_media (
    media_key     TEXT    PRIMARY KEY,
    content_type  TEXT    NOT NULL,
    bytes         BLOB    NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'rejected')),
    error_code    TEXT,
    error_message TEXT,
    created_at_ms INTEGER NOT NULL,
    resolved_at_ms INTEGER
);
