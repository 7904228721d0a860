-- The admin operations' queries (jobu.operations), written the same way for every backend.
-- Loaded with sql/<backend>/admin.sql, which holds the ones whose dialects differ.

-- name: ping$
SELECT 1;

-- name: update_cron_job!
UPDATE cron_jobs
SET name = :name, description = :description, cron_expression = :cron_expression, handler_name = :handler_name,
    handler_params = :handler_params, is_enabled = :is_enabled, timezone = :timezone,
    catchup_policy = :catchup_policy, catchup_limit = :catchup_limit, catchup_window_seconds = :catchup_window_seconds,
    overlap_policy = :overlap_policy, allow_overlap = :allow_overlap, max_retry = :max_retry,
    timeout_seconds = :timeout_seconds, next_run_at = :next_run_at, updated_at = :now
WHERE id = :id;

-- name: set_cron_job_enabled_by_id!
UPDATE cron_jobs SET is_enabled = :is_enabled, next_run_at = :next_run_at, updated_at = :now
WHERE id = :id;

-- name: delete_cron_job_by_id!
DELETE FROM cron_jobs WHERE id = :id;

-- name: count_active_runs$
-- Runs of a job that may still start or are running: what overlap_policy 'skip' waits for.
SELECT COUNT(*) FROM job_executions
WHERE job_id = :job_id AND status IN ('WAITING', 'PENDING', 'RUNNING');

-- name: execution_detail^
SELECT e.*, c.name AS cron_name
FROM job_executions AS e LEFT JOIN cron_jobs AS c ON c.id = e.job_id
WHERE e.id = :id;

-- name: execution_summary^
SELECT e.id, e.job_id, c.name AS cron_name, e.handler_name, e.scheduled_time, e.status, e.param_source,
       e.retry_count, e.max_retry, e.started_at, e.finished_at, e.created_at, e.parent_execution_id,
       SUBSTR(e.error_message, 1, 500) AS error_message
FROM job_executions AS e LEFT JOIN cron_jobs AS c ON c.id = e.job_id
WHERE e.id = :id;

-- name: execution_children
SELECT e.id, e.job_id, c.name AS cron_name, e.handler_name, e.scheduled_time, e.status, e.param_source,
       e.retry_count, e.max_retry, e.started_at, e.finished_at, e.created_at, e.parent_execution_id,
       SUBSTR(e.error_message, 1, 500) AS error_message
FROM job_executions AS e LEFT JOIN cron_jobs AS c ON c.id = e.job_id
WHERE e.parent_execution_id = :id
ORDER BY e.id
LIMIT :limit;

-- name: execution_for_source^
SELECT * FROM job_executions
WHERE source_topic = :source_topic AND source_partition = :source_partition AND source_offset = :source_offset;

-- name: delete_finished_execution!
-- A run that may still start or is running is not deleted (its worker would lose it mid-way).
DELETE FROM job_executions WHERE id = :id AND status NOT IN ('WAITING', 'PENDING', 'RUNNING');

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
