-- The sample handlers' queries that differ by dialect (the rest: ../common/samples.sql), for MySQL / MariaDB.

-- name: insert_item<!
INSERT INTO sample_items (name, value, created_at, updated_at) VALUES (:name, :value, :now, :now);

-- name: probe^
-- sample9: the server's version and a count over a generated series of :n rows.
WITH RECURSIVE seq (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n)
SELECT VERSION() AS version, (SELECT COUNT(*) FROM seq) AS row_count;
