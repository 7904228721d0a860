-- The sample handlers' queries that differ by dialect (the rest: ../common/samples.sql), for PostgreSQL.

-- name: insert_item<!
INSERT INTO sample_items (name, value, created_at, updated_at) VALUES (:name, :value, :now, :now) RETURNING id;

-- name: probe^
-- sample9: the server's version and a count over a generated series of :n rows.
SELECT version() AS version, (SELECT count(*) FROM generate_series(1, CAST(:n AS INTEGER))) AS row_count;
