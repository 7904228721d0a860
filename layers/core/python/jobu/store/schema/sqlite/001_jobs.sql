-- jobu schema for SQLite (the embedded default for local runs). Applied once by `python -m jobu.migrate`.
-- Times are TEXT 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC, so text order is time order.

CREATE TABLE IF NOT EXISTS cron_jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE,
    description     TEXT NOT NULL DEFAULT '',
    cron_expression TEXT NOT NULL,
    handler_name    TEXT NOT NULL,
    handler_params  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(handler_params)),
    is_enabled      INTEGER NOT NULL DEFAULT 1,
    allow_overlap   INTEGER NOT NULL DEFAULT 1,
    max_retry       INTEGER NOT NULL DEFAULT 0 CHECK (max_retry >= 0),
    timeout_seconds INTEGER NOT NULL DEFAULT 300 CHECK (timeout_seconds > 0),
    next_run_at     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cron_jobs_due ON cron_jobs (next_run_at) WHERE is_enabled;

CREATE TABLE IF NOT EXISTS job_executions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id              INTEGER REFERENCES cron_jobs (id) ON DELETE SET NULL,
    handler_name        TEXT NOT NULL,
    scheduled_time      TEXT,
    status              TEXT NOT NULL DEFAULT 'PENDING'
                        CHECK (status IN ('PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT')),
    params              TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    param_source        TEXT NOT NULL CHECK (param_source IN ('cron', 'event')),
    max_retry           INTEGER NOT NULL DEFAULT 0,
    timeout_seconds     INTEGER NOT NULL,
    retry_count         INTEGER NOT NULL DEFAULT 0,
    available_at        TEXT NOT NULL,
    queued_at           TEXT,
    started_at          TEXT,
    deadline_at         TEXT,
    finished_at         TEXT,
    error_message       TEXT,
    result              TEXT CHECK (result IS NULL OR json_valid(result)),
    source_topic        TEXT,
    source_partition    INTEGER,
    source_offset       INTEGER,
    parent_execution_id INTEGER REFERENCES job_executions (id) ON DELETE SET NULL,
    created_at          TEXT NOT NULL,
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
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    source_topic     TEXT NOT NULL,
    source_partition INTEGER NOT NULL,
    source_offset    INTEGER NOT NULL,
    raw_value        TEXT NOT NULL,
    reason           TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    CONSTRAINT rejected_events_source UNIQUE (source_topic, source_partition, source_offset)
);
