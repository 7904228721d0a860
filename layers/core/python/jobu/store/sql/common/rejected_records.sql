-- jobu's queries on the rejected_events table: Kafka records that could not become runs.
-- Written the same way for every backend; the dialect's file of the same name holds the rest.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: count_rejected_events$
SELECT COUNT(*) FROM rejected_events;

-- name: page_rejected_events
-- One character past the preview's length tells the caller whether it was cut.
SELECT id, source_topic, source_partition, source_offset, record_key, raw_encoding, reason, created_at,
       SUBSTR(raw_value, 1, 201) AS raw_preview
FROM rejected_events
ORDER BY id DESC
LIMIT :limit OFFSET :offset;

-- name: get_rejected_event^
SELECT * FROM rejected_events WHERE id = :id;

-- name: delete_rejected_event!
DELETE FROM rejected_events WHERE id = :id;

-- name: list_rejected_events
SELECT * FROM rejected_events ORDER BY id DESC LIMIT :limit;

-- name: set_rejected_event_reason!
-- A replay refused again says why now; a record discarded meanwhile stays discarded (no row, no change).
UPDATE rejected_events SET reason = :reason WHERE id = :id;
