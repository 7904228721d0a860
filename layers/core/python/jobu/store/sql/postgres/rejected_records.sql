-- jobu's queries on the rejected_events table: Kafka records that could not become runs.
-- PostgreSQL (asyncpg). Optional filters are NULL when not given; asyncpg needs each
-- parameter's type (it cannot infer it in a SELECT list or a NULL test), hence the CASTs.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: insert_rejected_events!
INSERT INTO rejected_events (source_topic, source_partition, source_offset, record_key, raw_value, raw_encoding,
                             reason, created_at)
SELECT r.source_topic, r.source_partition, r.source_offset, r.record_key, r.raw_value, r.raw_encoding, r.reason,
       CAST(:now AS TIMESTAMPTZ)
FROM jsonb_to_recordset(CAST(:rows AS JSONB)) AS r (
    source_topic TEXT, source_partition INTEGER, source_offset BIGINT, record_key TEXT, raw_value TEXT,
    raw_encoding TEXT, reason TEXT)
ON CONFLICT (record_key) DO NOTHING;
