-- jobu schema for MySQL 8 / MariaDB 10.6+. Applied once by `python -m jobu.migrate`.
-- Times are DATETIME(6) holding UTC. Indexes are declared inline: MySQL has no CREATE INDEX IF NOT EXISTS.

CREATE TABLE IF NOT EXISTS cron_jobs (
    id              BIGINT AUTO_INCREMENT PRIMARY KEY,
    name            VARCHAR(200) NOT NULL,
    description     TEXT NOT NULL,
    cron_expression VARCHAR(200) NOT NULL,
    handler_name    VARCHAR(200) NOT NULL,
    handler_params  JSON NOT NULL,
    is_enabled      BOOLEAN NOT NULL DEFAULT TRUE,
    allow_overlap   BOOLEAN NOT NULL DEFAULT TRUE,
    max_retry       INT NOT NULL DEFAULT 0 CHECK (max_retry >= 0),
    timeout_seconds INT NOT NULL DEFAULT 300 CHECK (timeout_seconds > 0),
    next_run_at     DATETIME(6) NULL,
    created_at      DATETIME(6) NOT NULL,
    updated_at      DATETIME(6) NOT NULL,
    UNIQUE KEY cron_jobs_name (name),
    KEY cron_jobs_due (is_enabled, next_run_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS job_executions (
    id                  BIGINT AUTO_INCREMENT PRIMARY KEY,
    job_id              BIGINT NULL,
    handler_name        VARCHAR(200) NOT NULL,
    scheduled_time      DATETIME(6) NULL,
    status              VARCHAR(16) NOT NULL DEFAULT 'PENDING'
                        CHECK (status IN ('PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT')),
    params              JSON NOT NULL,
    param_source        VARCHAR(16) NOT NULL CHECK (param_source IN ('cron', 'event')),
    max_retry           INT NOT NULL DEFAULT 0,
    timeout_seconds     INT NOT NULL,
    retry_count         INT NOT NULL DEFAULT 0,
    available_at        DATETIME(6) NOT NULL,
    queued_at           DATETIME(6) NULL,
    started_at          DATETIME(6) NULL,
    deadline_at         DATETIME(6) NULL,
    finished_at         DATETIME(6) NULL,
    error_message       TEXT NULL,
    result              JSON NULL,
    source_topic        VARCHAR(249) NULL,
    source_partition    INT NULL,
    source_offset       BIGINT NULL,
    parent_execution_id BIGINT NULL,
    created_at          DATETIME(6) NOT NULL,
    UNIQUE KEY job_executions_slot (job_id, scheduled_time),
    UNIQUE KEY job_executions_source (source_topic, source_partition, source_offset),
    KEY job_executions_unqueued (status, queued_at, available_at),
    KEY job_executions_running (status, deadline_at),
    KEY job_executions_job_status (job_id, status),
    KEY job_executions_handler (handler_name, id),
    KEY job_executions_status (status, id),
    CONSTRAINT job_executions_job FOREIGN KEY (job_id) REFERENCES cron_jobs (id) ON DELETE SET NULL,
    CONSTRAINT job_executions_parent FOREIGN KEY (parent_execution_id)
        REFERENCES job_executions (id) ON DELETE SET NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS rejected_events (
    id               BIGINT AUTO_INCREMENT PRIMARY KEY,
    source_topic     VARCHAR(249) NOT NULL,
    source_partition INT NOT NULL,
    source_offset    BIGINT NOT NULL,
    raw_value        LONGTEXT NOT NULL,
    reason           TEXT NOT NULL,
    created_at       DATETIME(6) NOT NULL,
    UNIQUE KEY rejected_events_source (source_topic, source_partition, source_offset)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
