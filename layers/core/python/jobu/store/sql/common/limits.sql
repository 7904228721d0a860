-- jobu's queries on the limits' waiting lines written the same way for every backend (jobu.store.limits);
-- the dialect's limits.sql holds the rest. Parameters always bound.

-- name: queued_per_handler
-- The runs waiting in each handler's line (the sweeper's RunsWaiting), from the limits' index.
SELECT handler_name, COUNT(*) AS waiting FROM job_executions
WHERE status = 'WAITING' AND limit_state = 'queued'
GROUP BY handler_name
ORDER BY handler_name;

-- name: put_back_run!
-- A claimed run its handler's rate did not let start: PENDING again at the same attempt, unsent, as
-- if never claimed (a first attempt never started; a retry keeps that an attempt started).
UPDATE job_executions
SET status = 'PENDING', queued_at = NULL, deadline_at = NULL, available_at = :available_at,
    started_at = CASE WHEN retry_count = 0 THEN NULL ELSE started_at END
WHERE id = :id AND status = 'RUNNING' AND retry_count = :attempt;

-- name: defer_run!
-- The run put back, from the time its handler's rate gives it (under the handler's row lock, taken
-- after the run's: one lock order).
UPDATE job_executions SET available_at = :available_at WHERE id = :id AND status = 'PENDING';
