-- Concurrency and rate limits per handler and per concurrency key (jobu.limits, docs/executions.md "Limits").
--   handler_limits: one row per handler whose limits were set at run time (overridden = 1: its
--     columns replace the code's defaults) or that has limits in its code (a row made on first use,
--     overridden = 0). The row is also the lock that serializes every admission of a run of the
--     handler (SELECT ... FOR UPDATE), and holds the rate limit's state: rate_next_at, the time the
--     generic cell rate algorithm's next start is due, and last_key, the
--     concurrency key the last run handed over had (keys take turns from the one after it).
--   waiting: the runs of the handler's line, at least (every admission that queues runs adds them and
--     every promotion takes off those it hands over, under the row's lock; a queued run cancelled or
--     expired is still counted until a promotion that finds none recounts): the end of an admitted run
--     reads it, waiting for the lock, and promotes only when it is above 0.
--   job_executions.limit_state: NULL for a run no limit applied to when it became runnable;
--     'queued': WAITING for a slot, its rate or its run_at; 'admitted': handed over under the
--     limits, it holds a slot until it ends.
CREATE TABLE IF NOT EXISTS handler_limits (
    handler_name         VARCHAR(200) NOT NULL PRIMARY KEY,
    overridden           TINYINT NOT NULL DEFAULT 0,
    concurrency          INT NULL,
    per_key_concurrency  INT NULL,
    rate_limit           INT NULL,
    rate_period_seconds  INT NULL,
    rate_burst           INT NULL,
    rate_next_at         DATETIME(6) NULL,
    last_key             VARCHAR(200) NULL,
    waiting              INTEGER NOT NULL DEFAULT 0,
    updated_at           DATETIME(6) NOT NULL,
    updated_by           VARCHAR(2048) NULL,
    CONSTRAINT handler_limits_values CHECK (
        (concurrency IS NULL OR concurrency >= 1) AND (per_key_concurrency IS NULL OR per_key_concurrency >= 1)
        AND (rate_limit IS NULL OR rate_limit >= 1) AND (rate_period_seconds IS NULL OR rate_period_seconds >= 1)
        AND (rate_burst IS NULL OR rate_burst >= 1))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- job_executions_limits: the active runs of a handler, by key (what a limit counts), and its waiting line
ALTER TABLE job_executions
    ADD COLUMN limit_state VARCHAR(8) NULL,
    ADD CONSTRAINT job_executions_limit_state CHECK (limit_state IS NULL OR limit_state IN ('queued', 'admitted')),
    ADD KEY job_executions_limits (handler_name, status, concurrency_key);
