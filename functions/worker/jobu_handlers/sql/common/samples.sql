-- Queries of the sample handlers (jobu_handlers.samples), the same on every backend.

-- name: get_item^
SELECT * FROM sample_items WHERE id = :id;

-- name: list_items
SELECT * FROM sample_items ORDER BY id LIMIT :limit;

-- name: update_item!
UPDATE sample_items SET value = :value, updated_at = :now WHERE id = :id;

-- name: delete_item!
DELETE FROM sample_items WHERE id = :id;
