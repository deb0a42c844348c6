-- Fixed-window rate limits (public forms, short-code lookups, one-time
-- codes), counted in the database so every server process on one
-- database counts the same hits. key = limit name ':' subject.
CREATE TABLE rate_limits (
    key          TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL
);
CREATE INDEX rate_limits_window ON rate_limits(window_start);
