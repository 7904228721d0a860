-- jobu's queries on the database itself: readiness, and the schema_migrations table.
-- Written the same way for every backend; the dialect's file of the same name holds the rest.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: ping$
SELECT 1;

-- name: applied_migrations
SELECT version FROM schema_migrations ORDER BY version;
