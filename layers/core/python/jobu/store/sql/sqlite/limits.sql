-- Concurrency and rate limits per handler and per concurrency key (jobu.store.limits, docs/executions.md
-- "Limits"). SQLite: every transaction that writes is IMMEDIATE (jobu.store.sqlite), so writers
-- already go one at a time and "locking" a handler's row is reading it.

-- name: handler_limits_rows
-- The rows of these handlers: which of them have limits.
SELECT * FROM handler_limits
WHERE handler_name IN (SELECT value FROM json_each(:handlers))
ORDER BY handler_name;

-- name: lock_handler_limit^
-- The handler's row (the IMMEDIATE transaction holds the database's write lock already).
SELECT * FROM handler_limits WHERE handler_name = :handler_name;

-- name: ensure_handler_limits!
-- A row (the rate's state) for each handler whose code sets limits, made on first use.
INSERT INTO handler_limits (handler_name, overridden, updated_at)
SELECT value, 0, :now FROM json_each(:handlers) WHERE true
ON CONFLICT (handler_name) DO NOTHING;

-- name: queue_for_limits!
-- Runs that just became runnable, of handlers with limits: they wait in line (the promotion that
-- follows in the same transaction hands over those that fit). lo..hi: the ids' range (MySQL's needs it).
UPDATE job_executions SET status = 'WAITING', limit_state = 'queued', queued_at = NULL
WHERE id BETWEEN :lo AND :hi AND id IN (SELECT value FROM json_each(:ids)) AND status = 'PENDING';

-- name: limit_candidates
-- The handler's waiting line as it may start: each key's runs in turn (turn: the slot of its key the
-- run would take, counting the key's active runs), then high before normal before low, then the keys
-- in a circle from the one after last_key (the last key handed over), then oldest;
-- a key's runs past its per-key limit are left out. handler_active: the handler's runs PENDING or
-- RUNNING. Only runs that may start by the horizon (SQS's longest delay) and have not expired.
WITH active AS (
    SELECT concurrency_key, COUNT(*) AS n FROM job_executions
    WHERE handler_name = :handler_name AND status IN ('PENDING', 'RUNNING')
    GROUP BY concurrency_key
), waiting AS (
    SELECT id, available_at, concurrency_key, created_at,
           CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END AS priority_rank,
           ROW_NUMBER() OVER (PARTITION BY concurrency_key
                              ORDER BY CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END,
                                       created_at, id) AS place
    FROM job_executions
    WHERE handler_name = :handler_name AND status = 'WAITING' AND limit_state = 'queued'
      AND available_at <= :horizon AND (expires_at IS NULL OR expires_at > :now)
)
SELECT w.id, w.available_at, w.concurrency_key, (SELECT COALESCE(SUM(n), 0) FROM active) AS handler_active
FROM waiting AS w LEFT JOIN active AS a ON a.concurrency_key IS w.concurrency_key
WHERE :per_key IS NULL OR w.place + COALESCE(a.n, 0) <= :per_key
ORDER BY w.place + COALESCE(a.n, 0), w.priority_rank,
         CASE WHEN :last_key IS NULL OR COALESCE(w.concurrency_key, '') > :last_key THEN 0 ELSE 1 END,
         COALESCE(w.concurrency_key, ''), w.created_at, w.id
LIMIT :limit;

-- name: admit_runs!
-- The runs handed over ({id: the time it may start}: its run_at, or when its rate lets it start);
-- unsent until the caller sends them (the sweeper sends one whose sender died).
UPDATE job_executions
SET status = 'PENDING', limit_state = 'admitted', queued_at = NULL,
    available_at = json_extract(:runs, '$."' || id || '"')
WHERE id BETWEEN :lo AND :hi AND id IN (SELECT CAST(key AS INTEGER) FROM json_each(:runs))
  AND status = 'WAITING' AND limit_state = 'queued';

-- name: set_limit_turns!
-- After an admission or a promotion, under the row's lock: the rate's next due time, the key whose
-- turn it was last, and the line's runs (the runs it queued added, those it handed over taken off).
UPDATE handler_limits
SET rate_next_at = :rate_next_at, last_key = :last_key, waiting = MAX(waiting + :added - :admitted, 0)
WHERE handler_name = :handler_name;

-- name: recount_waiting!
-- A promotion that found no run to hand over: the line's runs that may start by the horizon, counted
-- (a run queued then cancelled or expired leaves the count; runs further out are the sweeper's).
UPDATE handler_limits
SET waiting = (SELECT COUNT(*) FROM job_executions
               WHERE handler_name = :handler_name AND status = 'WAITING' AND limit_state = 'queued'
                 AND available_at <= :horizon)
WHERE handler_name = :handler_name;

-- name: finish_admitted_execution^
-- The end of a run admitted under the handler's limits (finish_execution's UPDATE), and in the same
-- statement whether its line has runs (then the caller promotes them); no row: the run was not
-- RUNNING at this attempt. SQLite's writers go one at a time: an admission in progress committed
-- before this statement (its runs are counted here), or comes after it and counts this run ended.
UPDATE job_executions
SET status = :status, finished_at = :now, result = :result, error_message = :error_message,
    deadline_at = NULL
WHERE id = :id AND status = 'RUNNING' AND retry_count = :attempt
RETURNING COALESCE((SELECT waiting FROM handler_limits WHERE handler_name = :handler_name), 0) AS waiting;

-- name: take_start!
-- A worker's claim of a run of a rate-limited handler: the start, if the rate allows one now (the
-- generic cell rate algorithm on the handler's actual starts: its next due time at most the burst's
-- allowance ahead, `latest` = now + that allowance), then the due time moves on by an interval. No
-- row changed: not now (the worker puts the run back for later: defer_start).
-- (strftime keeps milliseconds: take_start rounds the interval up to a whole one, and one more)
UPDATE handler_limits
SET started_next_at = strftime('%Y-%m-%d %H:%M:%f', MAX(COALESCE(started_next_at, :now), :now),
                               '+' || (:interval_us / 1000000.0) || ' seconds') || '000'
WHERE handler_name = :handler_name AND (started_next_at IS NULL OR started_next_at <= :latest);

-- name: handlers_with_queued_runs
-- The sweeper's: handlers whose waiting line has runs that may start by the horizon.
SELECT DISTINCT handler_name FROM job_executions
WHERE status = 'WAITING' AND limit_state = 'queued' AND available_at <= :horizon
ORDER BY handler_name
LIMIT :limit;

-- name: upsert_handler_limits!
-- An operator's limits for the handler: they replace its code's from the next run that starts.
INSERT INTO handler_limits (handler_name, overridden, concurrency, per_key_concurrency, rate_limit,
                            rate_period_seconds, rate_burst, updated_at, updated_by)
VALUES (:handler_name, 1, :concurrency, :per_key_concurrency, :rate_limit, :rate_period_seconds,
        :rate_burst, :now, :updated_by)
ON CONFLICT (handler_name) DO UPDATE
SET overridden = 1, concurrency = excluded.concurrency, per_key_concurrency = excluded.per_key_concurrency,
    rate_limit = excluded.rate_limit, rate_period_seconds = excluded.rate_period_seconds,
    rate_burst = excluded.rate_burst, updated_at = excluded.updated_at, updated_by = excluded.updated_by;

-- name: clear_handler_limits!
-- Back to the code's limits (none, if it sets none); the rate's state is kept.
UPDATE handler_limits
SET overridden = 0, concurrency = NULL, per_key_concurrency = NULL, rate_limit = NULL,
    rate_period_seconds = NULL, rate_burst = NULL, updated_at = :now, updated_by = :updated_by
WHERE handler_name = :handler_name AND overridden = 1;

-- name: all_handler_limits
SELECT * FROM handler_limits ORDER BY handler_name;

-- name: limit_usage
-- Per handler and key, the runs PENDING, RUNNING and waiting in the limits' line; one handler, or all.
SELECT handler_name, concurrency_key,
       SUM(CASE WHEN status = 'RUNNING' THEN 1 ELSE 0 END) AS running,
       SUM(CASE WHEN status = 'PENDING' THEN 1 ELSE 0 END) AS pending,
       SUM(CASE WHEN status = 'WAITING' AND limit_state = 'queued' THEN 1 ELSE 0 END) AS waiting
FROM job_executions
WHERE status IN ('WAITING', 'PENDING', 'RUNNING') AND (:handler_name IS NULL OR handler_name = :handler_name)
GROUP BY handler_name, concurrency_key
ORDER BY handler_name, concurrency_key;
