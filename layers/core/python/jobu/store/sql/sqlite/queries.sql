-- jobu queries for SQLite (aiosqlite). Batches arrive as one JSON document unpacked with json_each,
-- so a Kafka batch is one multi-row INSERT with a single bound parameter.
-- "WHERE true" before ON CONFLICT: SQLite's parser needs it after INSERT ... SELECT ... FROM.

-- name: create_migrations_table#
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL
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
        :max_retry, :timeout_seconds, :next_run_at, :now, :now);

-- name: cron_jobs_for_events
SELECT * FROM cron_jobs
WHERE id IN (SELECT value FROM json_each(:job_ids))
   OR handler_name IN (SELECT value FROM json_each(:handler_names))
ORDER BY id;

-- name: insert_event_executions!
-- One multi-row INSERT for a whole Kafka batch; a redelivered record hits the source key and is skipped.
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, source_topic, source_partition, source_offset, created_at,
                            params_provenance)
SELECT json_extract(r.value, '$.job_id'), json_extract(r.value, '$.handler_name'), 'PENDING',
       json_extract(r.value, '$.params'), 'event', json_extract(r.value, '$.max_retry'),
       json_extract(r.value, '$.timeout_seconds'), :now, json_extract(r.value, '$.source_topic'),
       json_extract(r.value, '$.source_partition'), json_extract(r.value, '$.source_offset'), :now,
       json_extract(r.value, '$.params_provenance')
FROM json_each(:rows) AS r
WHERE true
ON CONFLICT (source_topic, source_partition, source_offset) DO NOTHING;

-- name: unqueued_executions_for_sources
SELECT e.* FROM json_each(:sources) AS s
CROSS JOIN job_executions AS e
  ON e.source_topic = json_extract(s.value, '$.source_topic')
 AND e.source_partition = json_extract(s.value, '$.source_partition')
 AND e.source_offset = json_extract(s.value, '$.source_offset')
WHERE e.status = 'PENDING' AND e.queued_at IS NULL
ORDER BY e.id;

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

-- name: insert_child_execution<!
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, parent_execution_id, created_at)
VALUES (:job_id, :handler_name, 'PENDING', :params, 'event', :max_retry, :timeout_seconds, :now,
        :parent_execution_id, :now);

-- name: mark_queued!
-- Only the attempt the message was for: a late mark for attempt n never hides attempt n + 1's lost message.
-- A later send of the same attempt (the sweeper's) moves queued_at on. UPDATE ... FROM: each run by id.
UPDATE job_executions SET queued_at = :now
FROM json_each(:runs) AS r
WHERE job_executions.id = json_extract(r.value, '$.id')
  AND job_executions.retry_count = json_extract(r.value, '$.attempt');

-- name: list_executions
SELECT * FROM job_executions
WHERE (:status IS NULL OR status = :status)
  AND (:handler_name IS NULL OR handler_name = :handler_name)
  AND (:job_id IS NULL OR job_id = :job_id)
ORDER BY id DESC
LIMIT :limit;
