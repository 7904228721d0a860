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

-- name: lock_due_cron_jobs_waiting
-- The same jobs, waiting for the rows another transaction holds (a tick still writing, a worker
-- promoting a run, an admin update), at most innodb_lock_wait_timeout: the tick comes back for them
-- after its SKIP LOCKED chunks, so a busy row never loses its slot. Under READ COMMITTED a row that
-- another tick moved on while this one waited is read again as it is now, and left out.
SELECT id, name, cron_expression, timezone, catchup_policy, catchup_limit, catchup_window_seconds,
       overlap_policy, next_run_at
FROM cron_jobs
WHERE is_enabled = 1 AND next_run_at <= :tick
  AND (paused_at IS NULL OR paused_until <= :tick)
ORDER BY next_run_at, id
LIMIT :limit
FOR UPDATE;

-- name: bound_lock_wait!
-- How long the session's next statements wait for a row lock before they fail (1205).
SET SESSION innodb_lock_wait_timeout = :seconds;

-- name: unbound_lock_wait!
-- Back to the server's value: jobu's sessions keep no setting of their own.
SET SESSION innodb_lock_wait_timeout = DEFAULT;

-- name: advance_cron_jobs!
-- Each job to its next slot; a job whose pause had ended is resumed. The list drives the join and
-- each job is looked up by its key: a scan of cron_jobs would lock (and wait for) every row it
-- reads, among them the rows another transaction holds that this tick skipped.
UPDATE JSON_TABLE(:jobs, '$[*]' COLUMNS (
    id BIGINT PATH '$.id', next_run_at DATETIME(6) PATH '$.next_run_at',
    expected DATETIME(6) PATH '$.expected')) AS r
STRAIGHT_JOIN cron_jobs AS c FORCE INDEX (PRIMARY)
  ON c.id = r.id AND c.next_run_at = r.expected
SET c.next_run_at = r.next_run_at, c.paused_at = NULL, c.paused_until = NULL, c.updated_at = :now;

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
-- MySQL assigns left to right: next_run_at comes first, so it reads is_enabled before it flips.
UPDATE cron_jobs
SET next_run_at = CASE WHEN COALESCE(:is_enabled, NOT is_enabled) THEN :next_run_at END,
    is_enabled = COALESCE(:is_enabled, NOT is_enabled), updated_at = :now
WHERE id = :id AND cron_expression = :cron_expression AND timezone = :timezone;
