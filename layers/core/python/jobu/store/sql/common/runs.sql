-- jobu's queries on the job_executions table (a run): creation from every trigger, claim,
-- finish, retries, cancel, queue_one promotion, the sweeper's repairs, history, retention.
-- Written the same way for every backend; the dialect's file of the same name holds the rest.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

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
       SUBSTR(e.error_message, 1, 500) AS error_message, e.priority, e.tags
FROM job_executions AS e LEFT JOIN cron_jobs AS c ON c.id = e.job_id
WHERE e.id = :id;

-- name: execution_children
SELECT e.id, e.job_id, c.name AS cron_name, e.handler_name, e.scheduled_time, e.status, e.param_source,
       e.retry_count, e.max_retry, e.started_at, e.finished_at, e.created_at, e.parent_execution_id,
       SUBSTR(e.error_message, 1, 500) AS error_message, e.priority, e.tags
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

-- name: get_execution^
SELECT * FROM job_executions WHERE id = :id;

-- name: finish_execution!
UPDATE job_executions
SET status = :status, finished_at = :now, result = :result, error_message = :error_message,
    deadline_at = NULL
WHERE id = :id AND status = 'RUNNING' AND retry_count = :attempt;

-- name: retry_execution!
-- Not a run an operator asked to cancel: that one ends CANCELLED instead (jobu.retries).
UPDATE job_executions
SET status = 'PENDING', retry_count = retry_count + 1, available_at = :available_at, queued_at = NULL,
    finished_at = :now, deadline_at = NULL, error_message = :error_message, result = :result
WHERE id = :id AND status = 'RUNNING' AND retry_count = :attempt AND cancel_requested_at IS NULL;

-- name: unqueued_executions
-- Rows whose SQS message was never sent (the sender died or SQS failed); the sweeper re-sends them.
SELECT * FROM job_executions
WHERE status = 'PENDING' AND queued_at IS NULL AND available_at <= :cutoff
ORDER BY available_at, id
LIMIT :limit;

-- name: stuck_executions
-- PENDING rows whose message was sent long ago and never claimed: it was lost (dead-lettered after
-- the database was down for its receives, or deleted by hand). The sweeper sends it again.
SELECT * FROM job_executions
WHERE status = 'PENDING' AND queued_at < :cutoff AND available_at < :cutoff
ORDER BY queued_at, id
LIMIT :limit;

-- name: stale_running_executions
-- RUNNING rows past their deadline: the worker that claimed them is gone (Lambda timeout, OOM).
SELECT * FROM job_executions
WHERE status = 'RUNNING' AND deadline_at < :now
ORDER BY deadline_at, id
LIMIT :limit;

-- name: oldest_waiting_run$
-- queue_one's held-back run, if no run of the job is PENDING or RUNNING any more. A run that waits
-- for its handler's limits (limit_state 'queued') is the limits' to start, not the job's.
SELECT MIN(w.id) FROM job_executions AS w
WHERE w.job_id = :job_id AND w.status = 'WAITING' AND w.limit_state IS NULL
  AND NOT EXISTS (SELECT 1 FROM job_executions AS a
                  WHERE a.job_id = :job_id AND a.status IN ('PENDING', 'RUNNING'));

-- name: has_waiting_run$
SELECT COUNT(*) FROM job_executions WHERE job_id = :job_id AND status = 'WAITING';

-- name: promote_run!
UPDATE job_executions SET status = 'PENDING', available_at = :now
WHERE id = :id AND status = 'WAITING' AND limit_state IS NULL;

-- name: jobs_with_promotable_runs
-- Jobs whose WAITING run may start (the sweeper's safety net for a worker that died after its run ended).
-- A WAITING run without a job (its job deleted) is not one: cancel_orphaned_waiting_runs ends it.
SELECT DISTINCT w.job_id FROM job_executions AS w
WHERE w.status = 'WAITING' AND w.job_id IS NOT NULL AND w.limit_state IS NULL
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

-- name: expire_run!
-- A run that was never started by its expires_at ends EXPIRED and never starts (docs/executions.md).
UPDATE job_executions
SET status = 'EXPIRED', finished_at = :now, deadline_at = NULL,
    error_message = 'expired: not started by its expires_at'
WHERE id = :id AND status IN ('WAITING', 'PENDING') AND started_at IS NULL AND expires_at <= :now;

-- name: expirable_runs
-- The sweeper's: runs never started by their expires_at, sent or not; each then ends EXPIRED by
-- expire_run in a transaction of its own, with its notifications.
SELECT id FROM job_executions
WHERE status IN ('WAITING', 'PENDING') AND started_at IS NULL AND expires_at <= :now
ORDER BY id
LIMIT :limit;

-- name: delayed_executions_due
-- PENDING runs left unsent on purpose (run_at / delay_seconds beyond what SQS can delay) whose time
-- comes within the horizon (SQS's longest delay): the sweeper sends them with the delay that is left.
-- Younger rows than the grace are left to their sender; unqueued_executions takes those already due.
-- A debounced run is not sent early: a later request may still move it (debounced_executions_due).
SELECT * FROM job_executions
WHERE status = 'PENDING' AND queued_at IS NULL AND available_at > :cutoff AND available_at <= :horizon
  AND created_at <= :cutoff
  AND debounce_key IS NULL
ORDER BY available_at, id
LIMIT :limit;

-- name: cancel_waiting_runs_of_job!
-- A job being deleted: its WAITING run would never be promoted (nothing waits on a job that is gone).
-- A run waiting for its handler's limits waits on them, not on the job: it still starts.
UPDATE job_executions
SET status = 'CANCELLED', finished_at = :now, error_message = :reason
WHERE job_id = :job_id AND status = 'WAITING' AND limit_state IS NULL;

-- name: cancel_orphaned_waiting_runs!
-- WAITING runs whose job is gone (deleted before the delete cancelled them): nothing would start them.
-- A run waiting for its handler's limits (most have no job) is the limits' to start.
UPDATE job_executions
SET status = 'CANCELLED', finished_at = :now, error_message = :reason
WHERE status = 'WAITING' AND job_id IS NULL AND limit_state IS NULL;
