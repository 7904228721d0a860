-- The admin operations' queries for SQLite (jobu.operations). Optional filters are NULL when not
-- given; lists of ids and statuses arrive as one JSON document, read with json_each.

-- name: count_cron_jobs$
SELECT COUNT(*) FROM cron_jobs
WHERE :is_enabled IS NULL OR is_enabled = :is_enabled;

-- name: page_cron_jobs
SELECT * FROM cron_jobs
WHERE :is_enabled IS NULL OR is_enabled = :is_enabled
ORDER BY name, id
LIMIT :limit OFFSET :offset;

-- name: count_executions$
SELECT COUNT(*) FROM job_executions AS e
WHERE (:job_id IS NULL OR e.job_id = :job_id)
  AND (:statuses IS NULL OR e.status IN (SELECT value FROM json_each(:statuses)))
  AND (:handler_name IS NULL OR e.handler_name = :handler_name)
  AND (:from_date IS NULL OR e.created_at >= :from_date)
  AND (:to_date IS NULL OR e.created_at <= :to_date);

-- name: page_executions
SELECT e.id, e.job_id, c.name AS cron_name, e.handler_name, e.scheduled_time, e.status, e.param_source,
       e.retry_count, e.max_retry, e.started_at, e.finished_at, e.created_at, e.parent_execution_id,
       SUBSTR(e.error_message, 1, 500) AS error_message
FROM job_executions AS e LEFT JOIN cron_jobs AS c ON c.id = e.job_id
WHERE (:job_id IS NULL OR e.job_id = :job_id)
  AND (:statuses IS NULL OR e.status IN (SELECT value FROM json_each(:statuses)))
  AND (:handler_name IS NULL OR e.handler_name = :handler_name)
  AND (:from_date IS NULL OR e.created_at >= :from_date)
  AND (:to_date IS NULL OR e.created_at <= :to_date)
ORDER BY e.id DESC
LIMIT :limit OFFSET :offset;

-- name: retry_finished_executions!
-- A new attempt of each run that is still FAILED or TIMEOUT: the attempt number moves on, so a late
-- message of the old attempt can never run it.
UPDATE job_executions
SET status = 'PENDING', retry_count = retry_count + 1, available_at = :now, queued_at = NULL,
    deadline_at = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND status IN ('FAILED', 'TIMEOUT');

-- name: unqueued_executions_by_ids
SELECT * FROM job_executions
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'PENDING' AND queued_at IS NULL
ORDER BY id;

-- name: insert_manual_execution<!
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, params_provenance, created_at)
VALUES (:job_id, :handler_name, :status, :params, 'manual', :max_retry, :timeout_seconds, :now,
        :params_provenance, :now);
