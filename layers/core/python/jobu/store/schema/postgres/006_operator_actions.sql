-- The audit trail: one row per operator action (a change made through the admin API, the CLI or
-- the dashboard), written in the same transaction as the change itself (jobu.operations.audit):
--   principal: who (the IAM ARN API Gateway put in the request context; `os:<user>` for the CLI on
--     a database; `local:<user>` for the local runtime's token; 'unknown' when none was given);
--   operation: what (`cron_job.update`, `run.retry`, ...); target_kind and target_id: on what;
--   request_id: the API request (API Gateway's id), to find its log lines;
--   before_state / after_state: the fields the action changed, as they were and as they became.
-- Kept for AuditRetentionDays, not RunRetentionDays: the tick prunes it by created_at.
CREATE TABLE IF NOT EXISTS operator_actions (
    id           BIGSERIAL PRIMARY KEY,
    created_at   TIMESTAMPTZ NOT NULL,
    principal    TEXT NOT NULL,
    operation    TEXT NOT NULL,
    target_kind  TEXT NOT NULL,
    target_id    TEXT,
    request_id   TEXT,
    before_state JSONB,
    after_state  JSONB
);
CREATE INDEX IF NOT EXISTS operator_actions_created ON operator_actions (created_at, id);
CREATE INDEX IF NOT EXISTS operator_actions_target ON operator_actions (target_kind, target_id);
