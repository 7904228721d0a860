-- The audit trail: one row per operator action (a change made through the admin API, the CLI or
-- the dashboard), written in the same transaction as the change itself (jobu.operations.audit):
--   principal: who (the IAM ARN API Gateway put in the request context; `os:<user>` for the CLI on
--     a database; `local:<user>` for the local runtime's token; 'unknown' when none was given);
--   operation: what (`cron_job.update`, `run.retry`, ...); target_kind and target_id: on what;
--   request_id: the API request (API Gateway's id), to find its log lines;
--   before_state / after_state: the fields the action changed, as they were and as they became.
-- Kept for AuditRetentionDays, not RunRetentionDays: the tick prunes it by created_at.
CREATE TABLE IF NOT EXISTS operator_actions (
    id           BIGINT AUTO_INCREMENT PRIMARY KEY,
    created_at   DATETIME(6) NOT NULL,
    principal    VARCHAR(2048) NOT NULL,
    operation    VARCHAR(64) NOT NULL,
    target_kind  VARCHAR(32) NOT NULL,
    target_id    VARCHAR(255) NULL,
    request_id   VARCHAR(255) NULL,
    before_state JSON NULL,
    after_state  JSON NULL,
    KEY operator_actions_created (created_at, id),
    KEY operator_actions_target (target_kind, target_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
