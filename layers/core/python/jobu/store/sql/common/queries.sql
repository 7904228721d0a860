-- jobu queries written the same way for PostgreSQL, MySQL/MariaDB and SQLite.
-- Loaded together with the dialect's own file (sql/<backend>/queries.sql); parameters always bound.

-- name: applied_migrations
SELECT version FROM schema_migrations ORDER BY version;

-- name: get_cron_job^
SELECT * FROM cron_jobs WHERE id = :id;

-- name: get_cron_job_by_name^
SELECT * FROM cron_jobs WHERE name = :name;

-- name: list_cron_jobs
SELECT * FROM cron_jobs ORDER BY name;

-- name: delete_cron_job!
DELETE FROM cron_jobs WHERE name = :name;

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

-- name: list_rejected_events
SELECT * FROM rejected_events ORDER BY id DESC LIMIT :limit;
