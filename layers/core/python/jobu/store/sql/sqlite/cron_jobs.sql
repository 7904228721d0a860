-- jobu's queries on the cron_jobs table: a job's definition, its schedule state (next_run_at,
-- pause) and the tick's locking of due jobs.
-- SQLite (aiosqlite). Optional filters are NULL when not given; lists and batches arrive as one
-- JSON document unpacked with json_each, so a Kafka batch is one multi-row INSERT with one parameter.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.
-- SQLite has no row locks: the tick's transaction is BEGIN IMMEDIATE, so ticks run one at a time.

-- name: count_cron_jobs$
SELECT COUNT(*) FROM cron_jobs
WHERE :is_enabled IS NULL OR is_enabled = :is_enabled;

-- name: page_cron_jobs
SELECT * FROM cron_jobs
WHERE :is_enabled IS NULL OR is_enabled = :is_enabled
ORDER BY name, id
LIMIT :limit OFFSET :offset;

-- name: insert_cron_job<!
INSERT INTO cron_jobs (name, description, cron_expression, handler_name, handler_params, is_enabled, timezone,
                       catchup_policy, catchup_limit, catchup_window_seconds, overlap_policy, allow_overlap,
                       max_retry, timeout_seconds, next_run_at, created_at, updated_at, priority, ttl_seconds,
                       tags, concurrency_key)
VALUES (:name, :description, :cron_expression, :handler_name, :handler_params, :is_enabled, :timezone,
        :catchup_policy, :catchup_limit, :catchup_window_seconds, :overlap_policy, :allow_overlap,
        :max_retry, :timeout_seconds, :next_run_at, :now, :now, :priority, :ttl_seconds, :tags, :concurrency_key);

-- name: cron_jobs_for_events
SELECT * FROM cron_jobs
WHERE id IN (SELECT value FROM json_each(:job_ids))
   OR handler_name IN (SELECT value FROM json_each(:handler_names))
ORDER BY id;

-- name: lock_due_cron_jobs
-- A paused job is due again once its pause has ended (paused_until passed).
SELECT id, name, cron_expression, timezone, catchup_policy, catchup_limit, catchup_window_seconds,
       overlap_policy, next_run_at
FROM cron_jobs
WHERE is_enabled AND next_run_at <= :tick
  AND (paused_at IS NULL OR paused_until <= :tick)
ORDER BY next_run_at, id
LIMIT :limit;

-- name: advance_cron_jobs!
-- Each job to its next slot; a job whose pause had ended is resumed. UPDATE ... FROM looks each job
-- up by its id (a correlated subquery would read the whole list for every job of the table).
UPDATE cron_jobs
SET next_run_at = json_extract(r.value, '$.next_run_at'), paused_at = NULL, paused_until = NULL, updated_at = :now
FROM json_each(:jobs) AS r
WHERE cron_jobs.id = json_extract(r.value, '$.id')
  AND cron_jobs.next_run_at = json_extract(r.value, '$.expected');

-- name: lock_queue_one_job$
-- The job's row, locked as lock_cron_job does, if the job is queue_one (a run that ends promotes the
-- job's WAITING run under it); no row, and no lock kept, for any other job.
SELECT id FROM cron_jobs WHERE id = :job_id AND overlap_policy = 'queue_one';

-- name: lock_cron_job$
-- Serializes the actors that look at one job's runs (on SQLite the IMMEDIATE transaction already does).
SELECT id FROM cron_jobs WHERE id = :job_id;

-- name: get_cron_job_for_update^
-- An admin update's read: the row stays locked until the update writes it back, so two updates (or
-- an update and a toggle) apply one after the other, neither overwriting the other's fields.
-- SQLite has no row locks: the update's IMMEDIATE transaction serializes it.
SELECT * FROM cron_jobs WHERE id = :id;

-- name: set_cron_job_enabled_by_id!
-- Enable, disable, or (is_enabled NULL) toggle, in one statement: two toggles at once flip twice.
-- next_run_at is the next slot of the expression and zone the caller read, used when the job ends
-- up enabled; if they changed meanwhile nothing is written and the caller reads them again.
UPDATE cron_jobs
SET next_run_at = CASE WHEN COALESCE(:is_enabled, NOT is_enabled) THEN :next_run_at END,
    is_enabled = COALESCE(:is_enabled, NOT is_enabled), updated_at = :now
WHERE id = :id AND cron_expression = :cron_expression AND timezone = :timezone;
