-- jobu's queries on the database itself: readiness, and the schema_migrations table.
-- MySQL 8 / MariaDB 10.6+ (asyncmy, through jobu.store.asyncmy_adapter). Optional filters are NULL
-- when not given; lists and batches arrive as one JSON document unpacked with JSON_TABLE, so a Kafka
-- batch is one multi-row INSERT with a single bound parameter.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: create_migrations_table#
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    VARCHAR(255) PRIMARY KEY,
    applied_at DATETIME(6) NOT NULL
) ENGINE = InnoDB;

-- name: record_migration!
INSERT INTO schema_migrations (version, applied_at) VALUES (:version, :now)
ON DUPLICATE KEY UPDATE version = version;
