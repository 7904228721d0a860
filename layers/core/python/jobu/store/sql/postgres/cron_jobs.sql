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

-- name: advance_cron_jobs!
-- Each job to its next slot; a job whose pause had ended is resumed.
UPDATE cron_jobs AS c
SET next_run_at = r.next_run_at, paused_at = NULL, paused_until = NULL, updated_at = CAST(:now AS TIMESTAMPTZ)
FROM jsonb_to_recordset(CAST(:jobs AS JSONB)) AS r (id BIGINT, next_run_at TIMESTAMPTZ, expected TIMESTAMPTZ)
WHERE c.id = r.id AND c.next_run_at = r.expected;

-- name: lock_cron_job$
-- Serializes the actors that look at one job's runs (a tick's chunk holds the same row lock).
SELECT id FROM cron_jobs WHERE id = :job_id FOR UPDATE;
