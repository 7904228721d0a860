-- Debounce (docs/executions.md, "Flow control fields"): a run request with
-- debounce {"key", "seconds", "max_wait_seconds"} joins the window of (handler, key) while its run
-- still waits, replacing its params and moving its start.
--   job_executions.debounce_key: the key whose window the run is; such a run stays unsent until its
--     available_at (the sweeper sends it then), so a later request can still move it;
--   debounce_keys: one row per (handler, key), locked by each request (the primary key serialises
--     two dispatchers at once): the window's run and the latest start its max wait allows;
--   debounce_requests: each Kafka record that asked (topic:partition:offset), so a redelivered
--     record is not a new request. Retention prunes both (jobu.retention).
ALTER TABLE job_executions ADD COLUMN IF NOT EXISTS debounce_key TEXT;
-- the sweeper's: debounced runs left unsent until they may start
CREATE INDEX IF NOT EXISTS job_executions_debounced ON job_executions (available_at)
    WHERE debounce_key IS NOT NULL AND status = 'PENDING' AND queued_at IS NULL;

CREATE TABLE IF NOT EXISTS debounce_keys (
    handler_name TEXT NOT NULL,
    debounce_key TEXT NOT NULL,
    execution_id BIGINT,
    -- the window's first request, and the latest start its max_wait_seconds allows (NULL: no bound)
    first_at     TIMESTAMPTZ NOT NULL,
    start_by     TIMESTAMPTZ,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (handler_name, debounce_key)
);
CREATE INDEX IF NOT EXISTS debounce_keys_updated ON debounce_keys (updated_at);

CREATE TABLE IF NOT EXISTS debounce_requests (
    request_key  TEXT PRIMARY KEY,
    execution_id BIGINT,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS debounce_requests_created ON debounce_requests (created_at);
