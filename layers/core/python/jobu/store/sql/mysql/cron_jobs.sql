-- jobu's queries on the cron_jobs table: a job's definition, its schedule state (next_run_at,
-- pause) and the tick's locking of due jobs.
-- MySQL 8 / MariaDB 10.6+ (asyncmy, through jobu.store.asyncmy_adapter). Optional filters are NULL
-- when not given; lists and batches arrive as one JSON document unpacked with JSON_TABLE, so a Kafka
-- batch is one multi-row INSERT with a single bound parameter.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.
-- `is_enabled = 1`, not the bare column: MariaDB then uses the whole (is_enabled, next_run_at)
-- key (FACTS: key_len 10 instead of 1, no filesort).

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
WHERE id IN (SELECT j.v FROM JSON_TABLE(:job_ids, '$[*]' COLUMNS (v BIGINT PATH '$')) AS j)
   OR handler_name IN (SELECT h.v FROM JSON_TABLE(:handler_names, '$[*]' COLUMNS (v VARCHAR(200) PATH '$')) AS h)
ORDER BY id;

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

-- name: advance_cron_jobs!
-- Each job to its next slot; a job whose pause had ended is resumed.
UPDATE cron_jobs AS c
JOIN JSON_TABLE(:jobs, '$[*]' COLUMNS (
    id BIGINT PATH '$.id', next_run_at DATETIME(6) PATH '$.next_run_at',
    expected DATETIME(6) PATH '$.expected')) AS r
  ON c.id = r.id AND c.next_run_at = r.expected
SET c.next_run_at = r.next_run_at, c.paused_at = NULL, c.paused_until = NULL, c.updated_at = :now;

-- name: lock_cron_job$
-- Serializes the actors that look at one job's runs (a tick's chunk holds the same row lock).
SELECT id FROM cron_jobs WHERE id = :job_id FOR UPDATE;
