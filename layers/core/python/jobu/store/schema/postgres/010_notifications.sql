-- Notifications (jobu.notifications, docs/notifications.md):
--   notification_rules: which runs notify whom: a handler (or '*'), the events (the rows of
--     notification_rule_events), and a destination: an HTTPS webhook (signed with `secret`) or an
--     SNS topic;
--   notifications: the outbox. A run's outcome writes its rows in the outcome's own transaction, one
--     per matching rule, keyed (rule_id, dedup_key) so nothing writes one twice; the worker (after
--     commit) and the tick's sweeper deliver them, retrying with backoff, and record the delivery.
CREATE TABLE IF NOT EXISTS notification_rules (
    id            BIGSERIAL PRIMARY KEY,
    handler_name  TEXT NOT NULL,
    webhook_url   TEXT,
    sns_topic_arn TEXT,
    secret        TEXT,
    is_enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CHECK ((webhook_url IS NULL) <> (sns_topic_arn IS NULL))
);

CREATE TABLE IF NOT EXISTS notification_rule_events (
    rule_id BIGINT NOT NULL REFERENCES notification_rules (id) ON DELETE CASCADE,
    event   TEXT NOT NULL,
    PRIMARY KEY (rule_id, event)
);

CREATE TABLE IF NOT EXISTS notifications (
    id              BIGSERIAL PRIMARY KEY,
    rule_id         BIGINT NOT NULL,
    execution_id    BIGINT,
    job_id          BIGINT,
    slot            TIMESTAMPTZ,
    event           TEXT NOT NULL,
    dedup_key       TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error      TEXT,
    response_status INTEGER,
    delivered_at    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT notifications_once UNIQUE (rule_id, dedup_key)
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX IF NOT EXISTS notifications_run ON notifications (execution_id);
