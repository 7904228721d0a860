-- The cron tick's set-based statements for PostgreSQL (jobu.cron_dispatch); see common/scheduling.sql.

-- name: lock_due_cron_jobs
-- A chunk of due jobs, locked for this tick; another dispatcher's tick skips them (SKIP LOCKED).
-- A paused job is due again once its pause has ended (paused_until passed).
SELECT id, name, cron_expression, timezone, catchup_policy, catchup_limit, catchup_window_seconds,
       overlap_policy, next_run_at
FROM cron_jobs
WHERE is_enabled AND next_run_at <= :tick
  AND (paused_at IS NULL OR paused_until <= :tick)
ORDER BY next_run_at, id
LIMIT :limit
FOR UPDATE SKIP LOCKED;

-- name: insert_cron_runs!
-- One row per (job, slot) the tick decided on, the job's overlap policy applied in the statement:
-- allow: always; skip: only while no run of the job is active; queue_one: WAITING behind an active
-- run, at most one. UNIQUE(job_id, scheduled_time) makes a repeated tick create nothing.
INSERT INTO job_executions (job_id, handler_name, scheduled_time, status, params, param_source, max_retry,
                            timeout_seconds, available_at, created_at)
SELECT c.id, c.handler_name, s.scheduled_time,
       CASE WHEN CAST(:param_source AS TEXT) <> 'backfill' AND c.overlap_policy = 'queue_one'
                 AND EXISTS (SELECT 1 FROM job_executions AS a
                             WHERE a.job_id = c.id AND a.status IN ('PENDING', 'RUNNING'))
            THEN 'WAITING' ELSE 'PENDING' END,
       c.handler_params, CAST(:param_source AS TEXT), c.max_retry, c.timeout_seconds,
       CAST(:now AS TIMESTAMPTZ), CAST(:now AS TIMESTAMPTZ)
FROM jsonb_to_recordset(CAST(:slots AS JSONB)) AS s (job_id BIGINT, scheduled_time TIMESTAMPTZ)
JOIN cron_jobs AS c ON c.id = s.job_id
WHERE c.overlap_policy = 'allow' OR CAST(:param_source AS TEXT) = 'backfill'
   OR (c.overlap_policy = 'skip'
       AND NOT EXISTS (SELECT 1 FROM job_executions AS a
                       WHERE a.job_id = c.id AND a.status IN ('WAITING', 'PENDING', 'RUNNING')))
   OR (c.overlap_policy = 'queue_one'
       AND NOT EXISTS (SELECT 1 FROM job_executions AS a WHERE a.job_id = c.id AND a.status = 'WAITING'))
ON CONFLICT (job_id, scheduled_time) DO NOTHING;

-- name: runs_for_slots
SELECT e.id, e.job_id, e.handler_name, e.scheduled_time, e.status, e.retry_count, e.queued_at
FROM job_executions AS e
JOIN jsonb_to_recordset(CAST(:slots AS JSONB)) AS s (job_id BIGINT, scheduled_time TIMESTAMPTZ)
  ON e.job_id = s.job_id AND e.scheduled_time = s.scheduled_time
ORDER BY e.id;

-- name: advance_cron_jobs!
-- Each job to its next slot; a job whose pause had ended is resumed.
UPDATE cron_jobs AS c
SET next_run_at = r.next_run_at, paused_at = NULL, paused_until = NULL, updated_at = CAST(:now AS TIMESTAMPTZ)
FROM jsonb_to_recordset(CAST(:jobs AS JSONB)) AS r (id BIGINT, next_run_at TIMESTAMPTZ, expected TIMESTAMPTZ)
WHERE c.id = r.id AND c.next_run_at = r.expected;

-- name: delete_finished_runs!
-- Retention: the oldest finished runs past the cutoff, a bounded batch per statement.
DELETE FROM job_executions
WHERE id IN (SELECT id FROM job_executions
             WHERE status IN ('SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED') AND finished_at < :cutoff
             ORDER BY finished_at LIMIT :limit);

-- name: lock_cron_job$
-- Serializes the actors that look at one job's runs (a tick's chunk holds the same row lock).
SELECT id FROM cron_jobs WHERE id = :job_id FOR UPDATE;
