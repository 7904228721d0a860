-- The cron tick's set-based statements, cancellation, queue_one promotion and retention
-- (jobu.cron_dispatch, jobu.operations), where they read the same on every backend.

-- name: oldest_waiting_run$
-- queue_one's held-back run, if no run of the job is PENDING or RUNNING any more.
SELECT MIN(w.id) FROM job_executions AS w
WHERE w.job_id = :job_id AND w.status = 'WAITING'
  AND NOT EXISTS (SELECT 1 FROM job_executions AS a
                  WHERE a.job_id = :job_id AND a.status IN ('PENDING', 'RUNNING'));

-- name: has_waiting_run$
SELECT COUNT(*) FROM job_executions WHERE job_id = :job_id AND status = 'WAITING';

-- name: promote_run!
UPDATE job_executions SET status = 'PENDING', available_at = :now WHERE id = :id AND status = 'WAITING';

-- name: jobs_with_promotable_runs
-- Jobs whose WAITING run may start (the sweeper's safety net for a worker that died after its run ended).
SELECT DISTINCT w.job_id FROM job_executions AS w
WHERE w.status = 'WAITING'
  AND NOT EXISTS (SELECT 1 FROM job_executions AS a
                  WHERE a.job_id = w.job_id AND a.status IN ('PENDING', 'RUNNING'))
LIMIT :limit;

-- name: cancel_unstarted_execution!
-- A WAITING or PENDING run never starts: its message, when it comes, finds it CANCELLED.
UPDATE job_executions
SET status = 'CANCELLED', finished_at = :now, error_message = :reason
WHERE id = :id AND status IN ('WAITING', 'PENDING');

-- name: request_cancel!
-- A RUNNING run: its worker watches for this and cancels the handler (jobu.worker).
UPDATE job_executions SET cancel_requested_at = :now
WHERE id = :id AND status = 'RUNNING' AND cancel_requested_at IS NULL;

-- name: cancel_requested$
SELECT cancel_requested_at FROM job_executions WHERE id = :id;

-- name: pause_cron_job!
UPDATE cron_jobs SET paused_at = :now, paused_until = :paused_until, updated_at = :now WHERE id = :id;

-- name: resume_cron_job!
UPDATE cron_jobs SET paused_at = NULL, paused_until = NULL, updated_at = :now WHERE id = :id;
