-- The cron tick's set-based statements for SQLite (jobu.cron_dispatch); see common/scheduling.sql.
-- SQLite has no row locks: the tick's transaction is BEGIN IMMEDIATE, so ticks run one at a time.

-- name: lock_due_cron_jobs
-- A paused job is due again once its pause has ended (paused_until passed).
SELECT id, name, cron_expression, timezone, catchup_policy, catchup_limit, catchup_window_seconds,
       overlap_policy, next_run_at
FROM cron_jobs
WHERE is_enabled AND next_run_at <= :tick
  AND (paused_at IS NULL OR paused_until <= :tick)
ORDER BY next_run_at, id
LIMIT :limit;

-- name: insert_cron_runs!
-- One row per (job, slot) the tick decided on, the job's overlap policy applied in the statement.
INSERT INTO job_executions (job_id, handler_name, scheduled_time, status, params, param_source, max_retry,
                            timeout_seconds, available_at, created_at)
SELECT c.id, c.handler_name, json_extract(s.value, '$.scheduled_time'),
       CASE WHEN :param_source <> 'backfill' AND c.overlap_policy = 'queue_one'
                 AND EXISTS (SELECT 1 FROM job_executions AS a
                             WHERE a.job_id = c.id AND a.status IN ('PENDING', 'RUNNING'))
            THEN 'WAITING' ELSE 'PENDING' END,
       c.handler_params, :param_source, c.max_retry, c.timeout_seconds, :now, :now
FROM json_each(:slots) AS s
CROSS JOIN cron_jobs AS c ON c.id = json_extract(s.value, '$.job_id')
WHERE c.overlap_policy = 'allow' OR :param_source = 'backfill'
   OR (c.overlap_policy = 'skip'
       AND NOT EXISTS (SELECT 1 FROM job_executions AS a
                       WHERE a.job_id = c.id AND a.status IN ('WAITING', 'PENDING', 'RUNNING')))
   OR (c.overlap_policy = 'queue_one'
       AND NOT EXISTS (SELECT 1 FROM job_executions AS a WHERE a.job_id = c.id AND a.status = 'WAITING'))
ON CONFLICT (job_id, scheduled_time) DO NOTHING;

-- name: runs_for_slots
-- CROSS JOIN keeps this order: each slot looks its run up in UNIQUE(job_id, scheduled_time).
SELECT e.id, e.job_id, e.handler_name, e.scheduled_time, e.status, e.retry_count, e.queued_at
FROM json_each(:slots) AS s
CROSS JOIN job_executions AS e
  ON e.job_id = json_extract(s.value, '$.job_id') AND e.scheduled_time = json_extract(s.value, '$.scheduled_time')
ORDER BY e.id;

-- name: advance_cron_jobs!
-- Each job to its next slot; a job whose pause had ended is resumed. UPDATE ... FROM looks each job
-- up by its id (a correlated subquery would read the whole list for every job of the table).
UPDATE cron_jobs
SET next_run_at = json_extract(r.value, '$.next_run_at'), paused_at = NULL, paused_until = NULL, updated_at = :now
FROM json_each(:jobs) AS r
WHERE cron_jobs.id = json_extract(r.value, '$.id')
  AND cron_jobs.next_run_at = json_extract(r.value, '$.expected');

-- name: delete_finished_runs!
-- Retention: the oldest finished runs past the cutoff, a bounded batch per statement.
DELETE FROM job_executions
WHERE id IN (SELECT id FROM job_executions
             WHERE status IN ('SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED') AND finished_at < :cutoff
             ORDER BY finished_at LIMIT :limit);

-- name: lock_cron_job$
-- Serializes the actors that look at one job's runs (on SQLite the IMMEDIATE transaction already does).
SELECT id FROM cron_jobs WHERE id = :job_id;
