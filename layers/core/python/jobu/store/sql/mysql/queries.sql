-- jobu queries for MySQL 8 / MariaDB 10.6+ (asyncmy, through jobu.store.asyncmy_adapter).
-- Batches arrive as one JSON document and are unpacked with JSON_TABLE, so a Kafka batch is still
-- one multi-row INSERT with a single bound parameter.

-- name: create_migrations_table#
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    VARCHAR(255) PRIMARY KEY,
    applied_at DATETIME(6) NOT NULL
) ENGINE = InnoDB;

-- name: record_migration!
INSERT INTO schema_migrations (version, applied_at) VALUES (:version, :now)
ON DUPLICATE KEY UPDATE version = version;

-- name: insert_cron_job<!
INSERT INTO cron_jobs (name, description, cron_expression, handler_name, handler_params, is_enabled, timezone,
                       catchup_policy, catchup_limit, catchup_window_seconds, overlap_policy, allow_overlap,
                       max_retry, timeout_seconds, next_run_at, created_at, updated_at)
VALUES (:name, :description, :cron_expression, :handler_name, :handler_params, :is_enabled, :timezone,
        :catchup_policy, :catchup_limit, :catchup_window_seconds, :overlap_policy, :allow_overlap,
        :max_retry, :timeout_seconds, :next_run_at, :now, :now);

-- name: cron_jobs_for_events
SELECT * FROM cron_jobs
WHERE id IN (SELECT j.v FROM JSON_TABLE(:job_ids, '$[*]' COLUMNS (v BIGINT PATH '$')) AS j)
   OR handler_name IN (SELECT h.v FROM JSON_TABLE(:handler_names, '$[*]' COLUMNS (v VARCHAR(200) PATH '$')) AS h)
ORDER BY id;

-- name: insert_event_executions!
-- One multi-row INSERT for a whole Kafka batch; a redelivered record hits the source key and is skipped.
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, source_topic, source_partition, source_offset, created_at,
                            params_provenance)
SELECT r.job_id, r.handler_name, 'PENDING', r.params, 'event', r.max_retry, r.timeout_seconds,
       :now, r.source_topic, r.source_partition, r.source_offset, :now, r.params_provenance
FROM JSON_TABLE(:rows, '$[*]' COLUMNS (
    job_id BIGINT PATH '$.job_id', handler_name VARCHAR(200) PATH '$.handler_name',
    params JSON PATH '$.params', max_retry INT PATH '$.max_retry', timeout_seconds INT PATH '$.timeout_seconds',
    source_topic VARCHAR(249) PATH '$.source_topic', source_partition INT PATH '$.source_partition',
    source_offset BIGINT PATH '$.source_offset', params_provenance JSON PATH '$.params_provenance')) AS r
ON DUPLICATE KEY UPDATE id = job_executions.id;

-- name: unqueued_executions_for_sources
SELECT e.* FROM job_executions AS e
JOIN JSON_TABLE(:sources, '$[*]' COLUMNS (
    source_topic VARCHAR(249) PATH '$.source_topic', source_partition INT PATH '$.source_partition',
    source_offset BIGINT PATH '$.source_offset')) AS s
  ON e.source_topic = s.source_topic AND e.source_partition = s.source_partition
 AND e.source_offset = s.source_offset
WHERE e.status = 'PENDING' AND e.queued_at IS NULL
ORDER BY e.id;

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

-- name: insert_child_execution<!
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, parent_execution_id, created_at)
VALUES (:job_id, :handler_name, 'PENDING', :params, 'event', :max_retry, :timeout_seconds, :now,
        :parent_execution_id, :now);

-- name: mark_queued!
-- Only the attempt the message was for: a late mark for attempt n never hides attempt n + 1's lost message.
-- A later send of the same attempt (the sweeper's) moves queued_at on.
UPDATE job_executions AS e
JOIN JSON_TABLE(:runs, '$[*]' COLUMNS (id BIGINT PATH '$.id', attempt INT PATH '$.attempt')) AS r
  ON e.id = r.id AND e.retry_count = r.attempt
SET e.queued_at = :now;

-- name: list_executions
SELECT * FROM job_executions
WHERE (:status IS NULL OR status = :status)
  AND (:handler_name IS NULL OR handler_name = :handler_name)
  AND (:job_id IS NULL OR job_id = :job_id)
ORDER BY id DESC
LIMIT :limit;
