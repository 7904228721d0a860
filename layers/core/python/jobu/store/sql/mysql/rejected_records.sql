-- jobu's queries on the rejected_events table: Kafka records that could not become runs.
-- MySQL 8 / MariaDB 10.6+ (asyncmy, through jobu.store.asyncmy_adapter). Optional filters are NULL
-- when not given; lists and batches arrive as one JSON document unpacked with JSON_TABLE, so a Kafka
-- batch is one multi-row INSERT with a single bound parameter.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: insert_rejected_events!
INSERT INTO rejected_events (source_topic, source_partition, source_offset, record_key, raw_value, raw_encoding,
                             reason, created_at)
SELECT r.source_topic, r.source_partition, r.source_offset, r.record_key, r.raw_value, r.raw_encoding, r.reason,
       :now
FROM JSON_TABLE(:rows, '$[*]' COLUMNS (
    source_topic VARCHAR(249) PATH '$.source_topic', source_partition INT PATH '$.source_partition',
    source_offset BIGINT PATH '$.source_offset', record_key VARCHAR(400) PATH '$.record_key',
    raw_value LONGTEXT PATH '$.raw_value', raw_encoding VARCHAR(8) PATH '$.raw_encoding',
    reason TEXT PATH '$.reason')) AS r
ON DUPLICATE KEY UPDATE id = rejected_events.id;
