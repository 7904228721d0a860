-- jobu schema for PostgreSQL. Applied once by `python -m jobu.migrate` (recorded in schema_migrations).
-- Times are timestamptz in UTC. See docs/executions.md for the status transitions.

CREATE TABLE IF NOT EXISTS cron_jobs (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    description     TEXT NOT NULL DEFAULT '',
    cron_expression TEXT NOT NULL,
    handler_name    TEXT NOT NULL,
    handler_params  JSONB NOT NULL DEFAULT '{}',
    is_enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    allow_overlap   BOOLEAN NOT NULL DEFAULT TRUE,
    max_retry       INTEGER NOT NULL DEFAULT 0 CHECK (max_retry >= 0),
    timeout_seconds INTEGER NOT NULL DEFAULT 300 CHECK (timeout_seconds > 0),
    -- the next slot the dispatcher must create a run for: a tick reads only the due rows
    next_run_at     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS cron_jobs_due ON cron_jobs (next_run_at) WHERE is_enabled;

CREATE TABLE IF NOT EXISTS job_executions (
    id                  BIGSERIAL PRIMARY KEY,
    job_id              BIGINT REFERENCES cron_jobs (id) ON DELETE SET NULL,
    handler_name        TEXT NOT NULL,
    scheduled_time      TIMESTAMPTZ,
    status              TEXT NOT NULL DEFAULT 'PENDING'
                        CHECK (status IN ('PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT')),
    params              JSONB NOT NULL DEFAULT '{}',
    param_source        TEXT NOT NULL CHECK (param_source IN ('cron', 'event')),
    max_retry           INTEGER NOT NULL DEFAULT 0,
    timeout_seconds     INTEGER NOT NULL,
    retry_count         INTEGER NOT NULL DEFAULT 0,
    -- earliest time the run may start (now, or now + backoff for a retry)
    available_at        TIMESTAMPTZ NOT NULL,
    -- set once the SQS message is sent; PENDING rows without it are re-sent by the sweeper
    queued_at           TIMESTAMPTZ,
    started_at          TIMESTAMPTZ,
    -- a RUNNING row past this time belonged to a worker that died: the sweeper marks it TIMEOUT
    deadline_at         TIMESTAMPTZ,
    finished_at         TIMESTAMPTZ,
    error_message       TEXT,
    result              JSONB,
    -- Kafka coordinates of the record that created an event run: a redelivery creates nothing
    source_topic        TEXT,
    source_partition    INTEGER,
    source_offset       BIGINT,
    parent_execution_id BIGINT REFERENCES job_executions (id) ON DELETE SET NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    CONSTRAINT job_executions_slot UNIQUE (job_id, scheduled_time),
    CONSTRAINT job_executions_source UNIQUE (source_topic, source_partition, source_offset)
);
CREATE INDEX IF NOT EXISTS job_executions_unqueued ON job_executions (available_at)
    WHERE status = 'PENDING' AND queued_at IS NULL;
CREATE INDEX IF NOT EXISTS job_executions_running ON job_executions (deadline_at) WHERE status = 'RUNNING';
CREATE INDEX IF NOT EXISTS job_executions_job_status ON job_executions (job_id, status);
CREATE INDEX IF NOT EXISTS job_executions_handler ON job_executions (handler_name, id);
CREATE INDEX IF NOT EXISTS job_executions_status ON job_executions (status, id);

CREATE TABLE IF NOT EXISTS rejected_events (
    id               BIGSERIAL PRIMARY KEY,
    source_topic     TEXT NOT NULL,
    source_partition INTEGER NOT NULL,
    source_offset    BIGINT NOT NULL,
    raw_value        TEXT NOT NULL,
    reason           TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    CONSTRAINT rejected_events_source UNIQUE (source_topic, source_partition, source_offset)
);
