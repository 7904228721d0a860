-- Concurrency and rate limits per handler and per concurrency key (jobu.store.limits, docs/executions.md
-- "Limits"). MySQL 8 / MariaDB (asyncmy), READ COMMITTED (jobu.store.mysql): a statement after the
-- lock reads what the transactions that held it committed.

-- name: handler_limits_rows
-- The rows of these handlers as they are (no lock): which of them have limits.
SELECT l.* FROM JSON_TABLE(:handlers, '$[*]' COLUMNS (handler_name VARCHAR(200) PATH '$')) AS h
STRAIGHT_JOIN handler_limits AS l ON l.handler_name = h.handler_name
ORDER BY l.handler_name;

-- name: lock_handler_limit^
-- The handler's row, locked until the transaction ends: the admissions and promotions of its runs go
-- one at a time. A transaction locks its handlers' rows in name order, after the runs it changed.
-- By its primary key alone: a locking read that scanned would wait on every other handler's row.
SELECT * FROM handler_limits WHERE handler_name = :handler_name FOR UPDATE;

-- name: ensure_handler_limits!
-- A row (the lock, the rate's state) for each handler whose code sets limits, made on first use.
INSERT IGNORE INTO handler_limits (handler_name, overridden, updated_at)
SELECT h.handler_name, 0, :now
FROM JSON_TABLE(:handlers, '$[*]' COLUMNS (handler_name VARCHAR(200) PATH '$')) AS h
ORDER BY h.handler_name;

-- name: queue_for_limits!
-- Runs that just became runnable, of handlers with limits: they wait in line (the promotion that
-- follows in the same transaction hands over those that fit). One table and its primary key's range
-- lo..hi, never a join: InnoDB then skips a row another transaction holds (a semi-consistent read)
-- where an UPDATE joined with JSON_TABLE waits for it, and deadlocks with that transaction when it
-- waits for the handler's row this one holds.
UPDATE job_executions SET status = 'WAITING', limit_state = 'queued', queued_at = NULL
WHERE id BETWEEN :lo AND :hi AND JSON_CONTAINS(:ids, CAST(id AS CHAR)) AND status = 'PENDING';

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
FROM waiting AS w LEFT JOIN active AS a ON a.concurrency_key <=> w.concurrency_key
WHERE :per_key IS NULL OR w.place + COALESCE(a.n, 0) <= :per_key
ORDER BY w.place + COALESCE(a.n, 0), w.priority_rank,
         CASE WHEN :last_key IS NULL OR COALESCE(w.concurrency_key, '') > :last_key THEN 0 ELSE 1 END,
         COALESCE(w.concurrency_key, ''), w.created_at, w.id
LIMIT :limit;

-- name: admit_runs!
-- The runs handed over ({id: the time it may start}: its run_at, or when its rate lets it start);
-- unsent until the caller sends them (the sweeper sends one whose sender died). One table and the ids'
-- range, as queue_for_limits says why.
UPDATE job_executions
SET status = 'PENDING', limit_state = 'admitted', queued_at = NULL,
    available_at = CAST(JSON_UNQUOTE(JSON_EXTRACT(:runs, CONCAT('$."', id, '"'))) AS DATETIME(6))
WHERE id BETWEEN :lo AND :hi AND JSON_CONTAINS_PATH(:runs, 'one', CONCAT('$."', id, '"'))
  AND status = 'WAITING' AND limit_state = 'queued';

-- name: set_limit_turns!
-- After an admission or a promotion, under the row's lock: the rate's next due time, the key whose
-- turn it was last, and the line's runs (the runs it queued added, those it handed over taken off).
UPDATE handler_limits
SET rate_next_at = :rate_next_at, last_key = :last_key, waiting = GREATEST(waiting + :added - :admitted, 0)
WHERE handler_name = :handler_name;

-- name: recount_waiting!
-- A promotion that found no run to hand over: the line's runs that may start by the horizon, counted
-- (a run queued then cancelled or expired leaves the count; runs further out are the sweeper's).
UPDATE handler_limits
SET waiting = (SELECT COUNT(*) FROM job_executions
               WHERE handler_name = :handler_name AND status = 'WAITING' AND limit_state = 'queued'
                 AND available_at <= :horizon)
WHERE handler_name = :handler_name;

-- name: finish_admitted_execution!
-- The end of a run admitted under the handler's limits: finish_execution's UPDATE (MySQL and MariaDB
-- have no UPDATE ... RETURNING: waiting_after_end follows it, on the same connection).
UPDATE job_executions
SET status = :status, finished_at = :now, result = :result, error_message = :error_message,
    deadline_at = NULL
WHERE id = :id AND status = 'RUNNING' AND retry_count = :attempt;

-- name: waiting_after_end$
-- After finish_admitted_execution committed: whether the handler's line has runs (then it promotes
-- them). A locking read: it waits for an admission that holds the row, and reads the row as that
-- left it, so a run queued while this run ended is seen here, or that admission saw this run ended.
SELECT waiting FROM handler_limits WHERE handler_name = :handler_name LOCK IN SHARE MODE;

-- name: take_start!
-- A worker's claim of a run of a rate-limited handler: the start, if the rate allows one now (the
-- generic cell rate algorithm on the handler's actual starts: its next due time at most the burst's
-- allowance ahead, `latest` = now + that allowance), then the due time moves on by an interval. No
-- row changed: not now (the worker puts the run back for later: defer_start).
UPDATE handler_limits
SET started_next_at = DATE_ADD(GREATEST(COALESCE(started_next_at, :now), :now), INTERVAL :interval_us MICROSECOND)
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
ON DUPLICATE KEY UPDATE
    overridden = 1, concurrency = VALUES(concurrency), per_key_concurrency = VALUES(per_key_concurrency),
    rate_limit = VALUES(rate_limit), rate_period_seconds = VALUES(rate_period_seconds),
    rate_burst = VALUES(rate_burst), updated_at = VALUES(updated_at), updated_by = VALUES(updated_by);

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
