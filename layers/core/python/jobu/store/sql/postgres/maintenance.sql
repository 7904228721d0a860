-- jobu's queries on the database itself: readiness, and the schema_migrations table.
-- PostgreSQL (asyncpg). Optional filters are NULL when not given; asyncpg needs each
-- parameter's type (it cannot infer it in a SELECT list or a NULL test), hence the CASTs.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: create_migrations_table#
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    TEXT PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL
);

-- name: record_migration!
INSERT INTO schema_migrations (version, applied_at) VALUES (:version, :now)
ON CONFLICT (version) DO NOTHING;
