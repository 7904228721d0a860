-- Debounce (docs/executions.md, "Flow control fields"): a run request with
-- debounce {"key", "seconds", "max_wait_seconds"} joins the window of (handler, key) while its run
-- still waits, replacing its params and moving its start.
--   job_executions.debounce_key: the key whose window the run is; such a run stays unsent until its
--     available_at (the sweeper sends it then), so a later request can still move it;
--   debounce_keys: one row per (handler, key), locked by each request (the primary key serialises
--     two dispatchers at once): the window's run and the latest start its max wait allows;
--   debounce_requests: each Kafka record that asked (topic:partition:offset), so a redelivered
--     record is not a new request. Retention prunes both (jobu.retention).
ALTER TABLE job_executions
    ADD COLUMN debounce_key VARCHAR(200) NULL,
    ADD KEY job_executions_debounced (status, debounce_key, available_at);

CREATE TABLE IF NOT EXISTS debounce_keys (
    handler_name VARCHAR(200) NOT NULL,
    debounce_key VARCHAR(200) NOT NULL,
    execution_id BIGINT NULL,
    -- the window's first request, and the latest start its max_wait_seconds allows (NULL: no bound)
    first_at     DATETIME(6) NOT NULL,
    start_by     DATETIME(6) NULL,
    updated_at   DATETIME(6) NOT NULL,
    PRIMARY KEY (handler_name, debounce_key),
    KEY debounce_keys_updated (updated_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS debounce_requests (
    request_key  VARCHAR(400) NOT NULL,
    execution_id BIGINT NULL,
    created_at   DATETIME(6) NOT NULL,
    PRIMARY KEY (request_key),
    KEY debounce_requests_created (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
