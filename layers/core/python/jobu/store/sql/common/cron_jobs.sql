-- jobu's queries on the cron_jobs table: a job's definition, its schedule state (next_run_at,
-- pause) and the tick's locking of due jobs.
-- Written the same way for every backend; the dialect's file of the same name holds the rest.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: update_cron_job!
-- Every field, as read from the row locked by get_cron_job_for_update in the same transaction.
UPDATE cron_jobs
SET name = :name, description = :description, cron_expression = :cron_expression, handler_name = :handler_name,
    handler_params = :handler_params, is_enabled = :is_enabled, timezone = :timezone,
    catchup_policy = :catchup_policy, catchup_limit = :catchup_limit, catchup_window_seconds = :catchup_window_seconds,
    overlap_policy = :overlap_policy, allow_overlap = :allow_overlap, max_retry = :max_retry,
    timeout_seconds = :timeout_seconds, next_run_at = :next_run_at, updated_at = :now, priority = :priority,
    ttl_seconds = :ttl_seconds, tags = :tags, concurrency_key = :concurrency_key
WHERE id = :id;

-- name: delete_cron_job_by_id!
DELETE FROM cron_jobs WHERE id = :id;

-- name: get_cron_job^
SELECT * FROM cron_jobs WHERE id = :id;

-- name: get_cron_job_by_name^
SELECT * FROM cron_jobs WHERE name = :name;

-- name: pause_cron_job!
UPDATE cron_jobs SET paused_at = :now, paused_until = :paused_until, updated_at = :now WHERE id = :id;

-- name: resume_cron_job!
UPDATE cron_jobs SET paused_at = NULL, paused_until = NULL, updated_at = :now WHERE id = :id;
