-- The worker's claim (MySQL / MariaDB). Loaded with queries.sql; parameters always bound.

-- name: claim_execution!
-- The conditional update that decides who runs: only a PENDING row of the message's attempt. MySQL
-- and MariaDB have no UPDATE ... RETURNING, so the store reads the claimed row next, on the same
-- connection. The deadline is the run's own timeout from now (timeout_base = now + the worker's
-- margin), or deadline_at if that comes first.
UPDATE job_executions
SET status = 'RUNNING', started_at = :now, finished_at = NULL,
    deadline_at = LEAST(DATE_ADD(:timeout_base, INTERVAL timeout_seconds SECOND), :deadline_at)
WHERE id = :id AND status = 'PENDING' AND retry_count = :attempt;
