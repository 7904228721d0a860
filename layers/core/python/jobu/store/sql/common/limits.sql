-- jobu's queries on the limits' waiting lines written the same way for every backend (jobu.store.limits);
-- the dialect's limits.sql holds the rest. Parameters always bound.

-- name: queued_per_handler
-- The runs waiting in each handler's line (the sweeper's RunsWaiting), from the limits' index.
SELECT handler_name, COUNT(*) AS waiting FROM job_executions
WHERE status = 'WAITING' AND limit_state = 'queued'
GROUP BY handler_name
ORDER BY handler_name;
