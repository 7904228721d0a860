-- Flow control on a run request (docs/executions.md, "Flow control fields"):
--   idempotency_key: the producer's key; idempotency_keys holds each (handler, key) claim until its
--     expires_at, so two dispatchers cannot both create a run for one key (the primary key decides);
--   priority: 'high' | 'normal' | 'low' (the order waiting runs will start in);
--   tags: a JSON array of up to 10 strings, runs listed by tag (GIN: containment);
--   concurrency_key: the key per-key limits will apply to;
--   expires_at: a run not started by then ends EXPIRED (a new final status) and never starts;
--   run_at / delay_seconds are the run's available_at, which exists already.
ALTER TABLE job_executions DROP CONSTRAINT IF EXISTS job_executions_status_check;
ALTER TABLE job_executions ADD CONSTRAINT job_executions_status_check
    CHECK (status IN ('WAITING', 'PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED', 'EXPIRED'));

ALTER TABLE job_executions ADD COLUMN IF NOT EXISTS idempotency_key TEXT;
ALTER TABLE job_executions ADD COLUMN IF NOT EXISTS priority TEXT NOT NULL DEFAULT 'normal'
    CHECK (priority IN ('high', 'normal', 'low'));
ALTER TABLE job_executions ADD COLUMN IF NOT EXISTS tags JSONB;
ALTER TABLE job_executions ADD COLUMN IF NOT EXISTS concurrency_key TEXT;
ALTER TABLE job_executions ADD COLUMN IF NOT EXISTS expires_at TIMESTAMPTZ;

CREATE INDEX IF NOT EXISTS job_executions_idempotency ON job_executions (handler_name, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS job_executions_tags ON job_executions USING GIN (tags jsonb_path_ops)
    WHERE tags IS NOT NULL;
CREATE INDEX IF NOT EXISTS job_executions_expiring ON job_executions (expires_at)
    WHERE expires_at IS NOT NULL AND status IN ('WAITING', 'PENDING');
-- the retention sweep's index, with the new final status
DROP INDEX IF EXISTS job_executions_finished;
CREATE INDEX IF NOT EXISTS job_executions_finished ON job_executions (finished_at)
    WHERE status IN ('SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED', 'EXPIRED');

CREATE TABLE IF NOT EXISTS idempotency_keys (
    handler_name    TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    -- who claimed the key: the Kafka record ('topic:partition:offset') whose run holds it
    claimed_by      TEXT NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (handler_name, idempotency_key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_expiry ON idempotency_keys (expires_at);
