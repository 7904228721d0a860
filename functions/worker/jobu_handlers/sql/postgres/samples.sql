-- Queries of the sample handlers (jobu_handlers.samples) for PostgreSQL.

-- name: insert_item<!
INSERT INTO sample_items (name, value, created_at, updated_at) VALUES (:name, :value, :now, :now) RETURNING id;

-- name: get_item^
SELECT * FROM sample_items WHERE id = :id;

-- name: list_items
SELECT * FROM sample_items ORDER BY id LIMIT :limit;

-- name: update_item!
UPDATE sample_items SET value = :value, updated_at = :now WHERE id = :id;

-- name: delete_item!
DELETE FROM sample_items WHERE id = :id;

-- name: probe^
-- sample9: the server's version and a count over a generated series of :n rows.
SELECT version() AS version, (SELECT count(*) FROM generate_series(1, CAST(:n AS INTEGER))) AS row_count;
