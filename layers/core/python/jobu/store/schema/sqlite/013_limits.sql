-- Concurrency and rate limits per handler and per concurrency key (jobu.limits, docs/executions.md "Limits").
--   handler_limits: one row per handler whose limits were set at run time (overridden = 1: its
--     columns replace the code's defaults) or that has limits in its code (a row made on first use,
--     overridden = 0). SQLite's writers are serialized (BEGIN IMMEDIATE), so the row needs no lock
--     here; it holds the rate limit's state: rate_next_at, the time the generic cell rate
--     algorithm's next start is due, and last_key, the
--     concurrency key the last run handed over had (keys take turns from the one after it).
--   waiting: the runs of the handler's line, at least (every admission that queues runs adds them and
--     every promotion takes off those it hands over, under the row's lock; a queued run cancelled or
--     expired is still counted until a promotion that finds none recounts): the end of an admitted run
--     reads it, waiting for the lock, and promotes only when it is above 0.
--   job_executions.limit_state: NULL for a run no limit applied to when it became runnable;
--     'queued': WAITING for a slot, its rate or its run_at; 'admitted': handed over under the
--     limits, it holds a slot until it ends.
CREATE TABLE IF NOT EXISTS handler_limits (
    handler_name         TEXT PRIMARY KEY,
    overridden           INTEGER NOT NULL DEFAULT 0 CHECK (overridden IN (0, 1)),
    concurrency          INTEGER CHECK (concurrency IS NULL OR concurrency >= 1),
    per_key_concurrency  INTEGER CHECK (per_key_concurrency IS NULL OR per_key_concurrency >= 1),
    rate_limit           INTEGER CHECK (rate_limit IS NULL OR rate_limit >= 1),
    rate_period_seconds  INTEGER CHECK (rate_period_seconds IS NULL OR rate_period_seconds >= 1),
    rate_burst           INTEGER CHECK (rate_burst IS NULL OR rate_burst >= 1),
    rate_next_at         TEXT,
    last_key             TEXT,
    waiting              INTEGER NOT NULL DEFAULT 0,
    updated_at           TEXT NOT NULL,
    updated_by           TEXT
);

ALTER TABLE job_executions ADD COLUMN limit_state TEXT
    CHECK (limit_state IS NULL OR limit_state IN ('queued', 'admitted'));
-- the active runs of a handler, by key (what a limit counts), and its waiting line
CREATE INDEX IF NOT EXISTS job_executions_limits ON job_executions (handler_name, status, concurrency_key)
    WHERE status IN ('WAITING', 'PENDING', 'RUNNING');
