-- jobu's queries on the cron_jobs table: a job's definition, its schedule state (next_run_at,
-- pause) and the tick's locking of due jobs.
-- PostgreSQL (asyncpg). Optional filters are NULL when not given; asyncpg needs each
-- parameter's type (it cannot infer it in a SELECT list or a NULL test), hence the CASTs.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: count_cron_jobs$
SELECT COUNT(*) FROM cron_jobs
WHERE CAST(:is_enabled AS BOOLEAN) IS NULL OR is_enabled = :is_enabled;

-- name: page_cron_jobs
SELECT * FROM cron_jobs
WHERE CAST(:is_enabled AS BOOLEAN) IS NULL OR is_enabled = :is_enabled
ORDER BY name, id
LIMIT :limit OFFSET :offset;

-- name: insert_cron_job<!
INSERT INTO cron_jobs (name, description, cron_expression, handler_name, handler_params, is_enabled, timezone,
                       catchup_policy, catchup_limit, catchup_window_seconds, overlap_policy, allow_overlap,
                       max_retry, timeout_seconds, next_run_at, created_at, updated_at, priority, ttl_seconds,
                       tags, concurrency_key)
VALUES (:name, :description, :cron_expression, :handler_name, :handler_params, :is_enabled, :timezone,
        :catchup_policy, :catchup_limit, :catchup_window_seconds, :overlap_policy, :allow_overlap,
        :max_retry, :timeout_seconds, :next_run_at, :now, :now, :priority, :ttl_seconds, :tags, :concurrency_key)
RETURNING id;

-- name: cron_jobs_for_events
SELECT * FROM cron_jobs
WHERE id IN (SELECT CAST(v AS BIGINT) FROM jsonb_array_elements_text(CAST(:job_ids AS JSONB)) AS v)
   OR handler_name IN (SELECT v FROM jsonb_array_elements_text(CAST(:handler_names AS JSONB)) AS v)
ORDER BY id;

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

-- name: lock_due_cron_jobs_waiting
-- The same jobs, waiting for the rows another transaction holds (a tick still writing, a worker
-- promoting a run, an admin update), at most lock_timeout: the tick comes back for them after its
-- SKIP LOCKED chunks, so a busy row never loses its slot. A row that another tick moved on while
-- this one waited is checked again and left out.
SELECT id, name, cron_expression, timezone, catchup_policy, catchup_limit, catchup_window_seconds,
       overlap_policy, next_run_at
FROM cron_jobs
WHERE is_enabled AND next_run_at <= :tick
  AND (paused_at IS NULL OR paused_until <= :tick)
ORDER BY next_run_at, id
LIMIT :limit
FOR UPDATE;

-- name: bound_lock_wait$
-- How long the transaction's next statements wait for a row lock before they fail (55P03).
SELECT set_config('lock_timeout', CAST(CAST(:seconds AS INTEGER) * 1000 AS TEXT), TRUE);

-- name: unbound_lock_wait!
-- lock_timeout as the session had it: jobu's sessions keep no setting of their own.
RESET lock_timeout;

-- name: advance_cron_jobs!
-- Each job to its next slot; a job whose pause had ended is resumed.
UPDATE cron_jobs AS c
SET next_run_at = r.next_run_at, paused_at = NULL, paused_until = NULL, updated_at = CAST(:now AS TIMESTAMPTZ)
FROM jsonb_to_recordset(CAST(:jobs AS JSONB)) AS r (id BIGINT, next_run_at TIMESTAMPTZ, expected TIMESTAMPTZ)
WHERE c.id = r.id AND c.next_run_at = r.expected;

-- name: lock_queue_one_job$
-- The job's row, locked as lock_cron_job does, if the job is queue_one (a run that ends promotes the
-- job's WAITING run under it); no row, and no lock kept, for any other job.
SELECT id FROM cron_jobs WHERE id = :job_id AND overlap_policy = 'queue_one' FOR UPDATE;

-- name: lock_cron_job$
-- Serializes the actors that look at one job's runs (a tick's chunk holds the same row lock).
SELECT id FROM cron_jobs WHERE id = :job_id FOR UPDATE;

-- name: get_cron_job_for_update^
-- An admin update's read: the row stays locked until the update writes it back, so two updates (or
-- an update and a toggle) apply one after the other, neither overwriting the other's fields.
SELECT * FROM cron_jobs WHERE id = :id FOR UPDATE;

-- name: set_cron_job_enabled_by_id!
-- Enable, disable, or (is_enabled NULL) toggle, in one statement: two toggles at once flip twice.
-- next_run_at is the next slot of the expression and zone the caller read, used when the job ends
-- up enabled; if they changed meanwhile nothing is written and the caller reads them again.
UPDATE cron_jobs
SET next_run_at = CASE WHEN COALESCE(CAST(:is_enabled AS BOOLEAN), NOT is_enabled) THEN CAST(:next_run_at AS TIMESTAMPTZ) END,
    is_enabled = COALESCE(CAST(:is_enabled AS BOOLEAN), NOT is_enabled), updated_at = :now
WHERE id = :id AND cron_expression = :cron_expression AND timezone = :timezone;
