-- jobu queries for PostgreSQL (asyncpg). Loaded by name with aiosql; parameters are always bound.
-- asyncpg cannot infer types for parameters in a SELECT list, hence the CASTs.

-- name: create_migrations_table#
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    TEXT PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL
);

-- name: record_migration!
INSERT INTO schema_migrations (version, applied_at) VALUES (:version, :now)
ON CONFLICT (version) DO NOTHING;

-- name: insert_cron_job<!
INSERT INTO cron_jobs (name, description, cron_expression, handler_name, handler_params, is_enabled, timezone,
                       catchup_policy, catchup_limit, catchup_window_seconds, overlap_policy, allow_overlap,
                       max_retry, timeout_seconds, next_run_at, created_at, updated_at)
VALUES (:name, :description, :cron_expression, :handler_name, :handler_params, :is_enabled, :timezone,
        :catchup_policy, :catchup_limit, :catchup_window_seconds, :overlap_policy, :allow_overlap,
        :max_retry, :timeout_seconds, :next_run_at, :now, :now)
RETURNING id;

-- name: cron_jobs_for_events
SELECT * FROM cron_jobs
WHERE id IN (SELECT CAST(v AS BIGINT) FROM jsonb_array_elements_text(CAST(:job_ids AS JSONB)) AS v)
   OR handler_name IN (SELECT v FROM jsonb_array_elements_text(CAST(:handler_names AS JSONB)) AS v)
ORDER BY id;

-- name: insert_event_executions!
-- One multi-row INSERT for a whole Kafka batch; a redelivered record hits the source key and is skipped.
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, source_topic, source_partition, source_offset, created_at,
                            params_provenance)
SELECT r.job_id, r.handler_name, 'PENDING', r.params, 'event', r.max_retry, r.timeout_seconds,
       CAST(:now AS TIMESTAMPTZ), r.source_topic, r.source_partition, r.source_offset, CAST(:now AS TIMESTAMPTZ),
       r.params_provenance
FROM jsonb_to_recordset(CAST(:rows AS JSONB)) AS r (
    job_id BIGINT, handler_name TEXT, params JSONB, max_retry INTEGER, timeout_seconds INTEGER,
    source_topic TEXT, source_partition INTEGER, source_offset BIGINT, params_provenance JSONB)
ON CONFLICT (source_topic, source_partition, source_offset) DO NOTHING;

-- name: unqueued_executions_for_sources
SELECT e.* FROM job_executions AS e
JOIN jsonb_to_recordset(CAST(:sources AS JSONB)) AS s (source_topic TEXT, source_partition INTEGER,
                                                      source_offset BIGINT)
  ON e.source_topic = s.source_topic AND e.source_partition = s.source_partition
 AND e.source_offset = s.source_offset
WHERE e.status = 'PENDING' AND e.queued_at IS NULL
ORDER BY e.id;

-- name: insert_rejected_events!
INSERT INTO rejected_events (source_topic, source_partition, source_offset, record_key, raw_value, raw_encoding,
                             reason, created_at)
SELECT r.source_topic, r.source_partition, r.source_offset, r.record_key, r.raw_value, r.raw_encoding, r.reason,
       CAST(:now AS TIMESTAMPTZ)
FROM jsonb_to_recordset(CAST(:rows AS JSONB)) AS r (
    source_topic TEXT, source_partition INTEGER, source_offset BIGINT, record_key TEXT, raw_value TEXT,
    raw_encoding TEXT, reason TEXT)
ON CONFLICT (record_key) DO NOTHING;

-- name: insert_child_execution<!
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, parent_execution_id, created_at)
VALUES (:job_id, :handler_name, 'PENDING', :params, 'event', :max_retry, :timeout_seconds, :now,
        :parent_execution_id, :now)
RETURNING id;

-- name: mark_queued!
-- Only the attempt the message was for: a late mark for attempt n never hides attempt n + 1's lost message.
-- A later send of the same attempt (the sweeper's) moves queued_at on.
UPDATE job_executions AS e SET queued_at = CAST(:now AS TIMESTAMPTZ)
FROM jsonb_to_recordset(CAST(:runs AS JSONB)) AS r (id BIGINT, attempt INTEGER)
WHERE e.id = r.id AND e.retry_count = r.attempt;

-- name: list_executions
SELECT * FROM job_executions
WHERE (CAST(:status AS TEXT) IS NULL OR status = :status)
  AND (CAST(:handler_name AS TEXT) IS NULL OR handler_name = :handler_name)
  AND (CAST(:job_id AS BIGINT) IS NULL OR job_id = :job_id)
ORDER BY id DESC
LIMIT :limit;

