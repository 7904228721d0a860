-- The worker's claim (PostgreSQL). Loaded with queries.sql; parameters always bound.

-- name: claim_execution^
-- The conditional update that decides who runs: only a PENDING row of the message's attempt. It
-- returns the claimed run, so reading and claiming are one statement. The deadline is the run's own
-- timeout from now (timeout_base = now + the worker's margin), or deadline_at if that comes first.
UPDATE job_executions
SET status = 'RUNNING', started_at = :now, finished_at = NULL,
    deadline_at = LEAST(CAST(:timeout_base AS TIMESTAMPTZ) + timeout_seconds * INTERVAL '1 second',
                        CAST(:deadline_at AS TIMESTAMPTZ))
WHERE id = :id AND status = 'PENDING' AND retry_count = :attempt
RETURNING *;
