-- Batches (jobu.operations.batches, docs/executions.md "Batches"): runs made together by
-- POST /api/batches, each a row of job_executions with the batch's id. The batch row counts its
-- children's ends by final status; each end is counted in the transaction that records it (under the
-- batch row's lock), and the end that makes ended = total creates the callback runs in that same
-- transaction, once: finished_at is set then, and never again.
--   on_success / on_complete: {"handler_name", "params"} or NULL;
--   status: RUNNING until the last child ends; then SUCCESS (every child succeeded), CANCELLED (the
--     batch was cancelled and not every child succeeded) or FAILED.
CREATE TABLE IF NOT EXISTS batches (
    id                   BIGSERIAL PRIMARY KEY,
    total                INTEGER NOT NULL CHECK (total > 0),
    succeeded            INTEGER NOT NULL DEFAULT 0,
    failed               INTEGER NOT NULL DEFAULT 0,
    timed_out            INTEGER NOT NULL DEFAULT 0,
    cancelled            INTEGER NOT NULL DEFAULT 0,
    expired              INTEGER NOT NULL DEFAULT 0,
    status               TEXT NOT NULL DEFAULT 'RUNNING'
        CHECK (status IN ('RUNNING', 'SUCCESS', 'FAILED', 'CANCELLED')),
    on_success           JSONB,
    on_complete          JSONB,
    success_run_id       BIGINT,
    complete_run_id      BIGINT,
    created_by           TEXT NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    cancelled_at         TIMESTAMPTZ,
    finished_at          TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS batches_created ON batches (created_at, id);

ALTER TABLE job_executions ADD COLUMN IF NOT EXISTS batch_id BIGINT;
CREATE INDEX IF NOT EXISTS job_executions_batch ON job_executions (batch_id, status) WHERE batch_id IS NOT NULL;
