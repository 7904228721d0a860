-- jobu's queries on the database itself: readiness, and the schema_migrations table.
-- SQLite (aiosqlite). Optional filters are NULL when not given; lists and batches arrive as one
-- JSON document unpacked with json_each, so a Kafka batch is one multi-row INSERT with one parameter.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: create_migrations_table#
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL
);

-- name: record_migration!
INSERT INTO schema_migrations (version, applied_at) VALUES (:version, :now)
ON CONFLICT (version) DO NOTHING;
