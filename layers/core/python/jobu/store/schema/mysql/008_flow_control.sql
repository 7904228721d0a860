-- Flow control on a run request (docs/executions.md, "Flow control fields"):
--   idempotency_key: the producer's key; idempotency_keys holds each (handler, key) claim until its
--     expires_at, so two dispatchers cannot both create a run for one key (the primary key decides);
--   priority: 'high' | 'normal' | 'low' (the order waiting runs will start in);
--   tags: a JSON array of up to 10 strings, runs listed by tag (JSON_CONTAINS);
--   concurrency_key: the key per-key limits will apply to;
--   expires_at: a run not started by then ends EXPIRED (a new final status) and never starts;
--   run_at / delay_seconds are the run's available_at, which exists already.
-- The status check is named since 003, so both MySQL and MariaDB drop it by name.
ALTER TABLE job_executions DROP CONSTRAINT job_executions_status_check;
ALTER TABLE job_executions
    ADD CONSTRAINT job_executions_status_check
        CHECK (status IN ('WAITING', 'PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED', 'EXPIRED')),
    ADD COLUMN idempotency_key VARCHAR(200) NULL,
    ADD COLUMN priority VARCHAR(8) NOT NULL DEFAULT 'normal',
    ADD COLUMN tags JSON NULL,
    ADD COLUMN concurrency_key VARCHAR(200) NULL,
    ADD COLUMN expires_at DATETIME(6) NULL,
    ADD CONSTRAINT job_executions_priority CHECK (priority IN ('high', 'normal', 'low')),
    ADD KEY job_executions_idempotency (handler_name, idempotency_key),
    ADD KEY job_executions_expiring (status, expires_at);

CREATE TABLE IF NOT EXISTS idempotency_keys (
    handler_name    VARCHAR(200) NOT NULL,
    idempotency_key VARCHAR(200) NOT NULL,
    -- who claimed the key: the Kafka record ('topic:partition:offset') whose run holds it
    claimed_by      VARCHAR(400) NOT NULL,
    expires_at      DATETIME(6) NOT NULL,
    created_at      DATETIME(6) NOT NULL,
    PRIMARY KEY (handler_name, idempotency_key),
    KEY idempotency_keys_expiry (expires_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
