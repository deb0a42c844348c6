-- Desktop app releases this server offers the apps signed in to it (issue
-- 20): one row per version and target (`linux-x86_64`); the package file
-- is `stored_as` in the media folder. Per server, not per company: every
-- company on a server runs the same program, shipped by the operator.
CREATE TABLE app_releases (
    version      TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    file         TEXT    NOT NULL,
    stored_as    TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    signature    TEXT    NOT NULL,
    notes        TEXT    NOT NULL,
    published_at INTEGER NOT NULL,
    PRIMARY KEY (version, target)
);
CREATE INDEX app_releases_target ON app_releases(target);
