-- The worker's claim (SQLite). Loaded with queries.sql; parameters always bound.

-- name: claim_execution^
-- The conditional update that decides who runs: only a PENDING row of the message's attempt. It
-- returns the claimed run, so reading and claiming are one statement. The deadline is the run's own
-- timeout from now (timeout_base = now + the worker's margin), or deadline_at if that comes first.
-- strftime's %f has milliseconds: '000' pads them to the microseconds jobu stores (TIME_FORMAT), so
-- the text still compares as time compares.
UPDATE job_executions
SET status = 'RUNNING', started_at = :now, finished_at = NULL,
    deadline_at = MIN(strftime('%Y-%m-%d %H:%M:%f', :timeout_base, '+' || timeout_seconds || ' seconds') || '000',
                      :deadline_at)
WHERE id = :id AND status = 'PENDING' AND retry_count = :attempt
RETURNING *;
