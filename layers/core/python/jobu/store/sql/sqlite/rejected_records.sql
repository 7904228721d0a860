-- jobu's queries on the rejected_events table: Kafka records that could not become runs.
-- SQLite (aiosqlite). Optional filters are NULL when not given; lists and batches arrive as one
-- JSON document unpacked with json_each, so a Kafka batch is one multi-row INSERT with one parameter.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.
-- "WHERE true" before ON CONFLICT: SQLite's parser needs it after INSERT ... SELECT ... FROM.

-- name: insert_rejected_events!
INSERT INTO rejected_events (source_topic, source_partition, source_offset, record_key, raw_value, raw_encoding,
                             reason, created_at)
SELECT json_extract(r.value, '$.source_topic'), json_extract(r.value, '$.source_partition'),
       json_extract(r.value, '$.source_offset'), json_extract(r.value, '$.record_key'),
       json_extract(r.value, '$.raw_value'), json_extract(r.value, '$.raw_encoding'),
       json_extract(r.value, '$.reason'), :now
FROM json_each(:rows) AS r
WHERE true
ON CONFLICT (record_key) DO NOTHING;
