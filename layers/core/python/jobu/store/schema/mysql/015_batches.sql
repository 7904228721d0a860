-- Batches (jobu.operations.batches, docs/executions.md "Batches"): runs made together by
-- POST /api/batches, each a row of job_executions with the batch's id. The batch row counts its
-- children's ends by final status; each end is counted in the transaction that records it (under the
-- batch row's lock), and the end that makes ended = total creates the callback runs in that same
-- transaction, once: finished_at is set then, and never again.
--   on_success / on_complete: {"handler_name", "params"} or NULL;
--   status: RUNNING until the last child ends; then SUCCESS (every child succeeded), CANCELLED (the
--     batch was cancelled and not every child succeeded) or FAILED.
CREATE TABLE IF NOT EXISTS batches (
    id                   BIGINT AUTO_INCREMENT PRIMARY KEY,
    total                INT NOT NULL,
    succeeded            INT NOT NULL DEFAULT 0,
    failed               INT NOT NULL DEFAULT 0,
    timed_out            INT NOT NULL DEFAULT 0,
    cancelled            INT NOT NULL DEFAULT 0,
    expired              INT NOT NULL DEFAULT 0,
    status               VARCHAR(16) NOT NULL DEFAULT 'RUNNING',
    on_success           JSON NULL,
    on_complete          JSON NULL,
    success_run_id       BIGINT NULL,
    complete_run_id      BIGINT NULL,
    created_by           VARCHAR(2048) NOT NULL,
    created_at           DATETIME(6) NOT NULL,
    cancelled_at         DATETIME(6) NULL,
    finished_at          DATETIME(6) NULL,
    CONSTRAINT batches_total CHECK (total > 0),
    CONSTRAINT batches_status CHECK (status IN ('RUNNING', 'SUCCESS', 'FAILED', 'CANCELLED')),
    INDEX batches_created (created_at, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

ALTER TABLE job_executions ADD COLUMN batch_id BIGINT NULL;
CREATE INDEX job_executions_batch ON job_executions (batch_id, status);
