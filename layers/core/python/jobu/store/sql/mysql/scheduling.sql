-- The cron tick's set-based statements for MySQL 8 / MariaDB 10.6+ (jobu.cron_dispatch); see
-- common/scheduling.sql. `is_enabled = 1`, not the bare column: MariaDB then uses the whole
-- (is_enabled, next_run_at) key (FACTS: key_len 10 instead of 1, no filesort).

-- name: lock_due_cron_jobs
-- A chunk of due jobs, locked for this tick; another dispatcher's tick skips them (SKIP LOCKED).
SELECT id, name, cron_expression, timezone, catchup_policy, catchup_limit, catchup_window_seconds,
       overlap_policy, next_run_at
FROM cron_jobs
WHERE is_enabled = 1 AND next_run_at <= :tick
  AND (paused_at IS NULL OR paused_until <= :tick)
ORDER BY next_run_at, id
LIMIT :limit
FOR UPDATE SKIP LOCKED;

-- name: insert_cron_runs!
-- One row per (job, slot) the tick decided on, the job's overlap policy applied in the statement.
INSERT INTO job_executions (job_id, handler_name, scheduled_time, status, params, param_source, max_retry,
                            timeout_seconds, available_at, created_at)
SELECT c.id, c.handler_name, s.scheduled_time,
       CASE WHEN :param_source <> 'backfill' AND c.overlap_policy = 'queue_one'
                 AND EXISTS (SELECT 1 FROM job_executions AS a
                             WHERE a.job_id = c.id AND a.status IN ('PENDING', 'RUNNING'))
            THEN 'WAITING' ELSE 'PENDING' END,
       c.handler_params, :param_source, c.max_retry, c.timeout_seconds, :now, :now
FROM JSON_TABLE(:slots, '$[*]' COLUMNS (
    job_id BIGINT PATH '$.job_id', scheduled_time DATETIME(6) PATH '$.scheduled_time')) AS s
JOIN cron_jobs AS c ON c.id = s.job_id
WHERE c.overlap_policy = 'allow' OR :param_source = 'backfill'
   OR (c.overlap_policy = 'skip'
       AND NOT EXISTS (SELECT 1 FROM job_executions AS a
                       WHERE a.job_id = c.id AND a.status IN ('WAITING', 'PENDING', 'RUNNING')))
   OR (c.overlap_policy = 'queue_one'
       AND NOT EXISTS (SELECT 1 FROM job_executions AS a WHERE a.job_id = c.id AND a.status = 'WAITING'))
ON DUPLICATE KEY UPDATE id = job_executions.id;

-- name: runs_for_slots
SELECT e.id, e.job_id, e.handler_name, e.scheduled_time, e.status, e.retry_count, e.queued_at
FROM job_executions AS e
JOIN JSON_TABLE(:slots, '$[*]' COLUMNS (
    job_id BIGINT PATH '$.job_id', scheduled_time DATETIME(6) PATH '$.scheduled_time')) AS s
  ON e.job_id = s.job_id AND e.scheduled_time = s.scheduled_time
ORDER BY e.id;

-- name: advance_cron_jobs!
-- Each job to its next slot; a job whose pause had ended is resumed.
UPDATE cron_jobs AS c
JOIN JSON_TABLE(:jobs, '$[*]' COLUMNS (
    id BIGINT PATH '$.id', next_run_at DATETIME(6) PATH '$.next_run_at',
    expected DATETIME(6) PATH '$.expected')) AS r
  ON c.id = r.id AND c.next_run_at = r.expected
SET c.next_run_at = r.next_run_at, c.paused_at = NULL, c.paused_until = NULL, c.updated_at = :now;

-- name: delete_finished_runs!
-- Retention: the oldest finished runs past the cutoff, a bounded batch per statement.
DELETE FROM job_executions
WHERE status IN ('SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED') AND finished_at < :cutoff
ORDER BY finished_at LIMIT :limit;

-- name: lock_cron_job$
-- Serializes the actors that look at one job's runs (a tick's chunk holds the same row lock).
SELECT id FROM cron_jobs WHERE id = :job_id FOR UPDATE;
