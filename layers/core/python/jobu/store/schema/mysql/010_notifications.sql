-- Notifications (jobu.notifications, docs/notifications.md):
--   notification_rules: which runs notify whom: a handler (or '*'), the events (the rows of
--     notification_rule_events), and a destination: an HTTPS webhook (signed with `secret`) or an
--     SNS topic;
--   notifications: the outbox. A run's outcome writes its rows in the outcome's own transaction, one
--     per matching rule, keyed (rule_id, dedup_key) so nothing writes one twice; the worker (after
--     commit) and the tick's sweeper deliver them, retrying with backoff, and record the delivery.
CREATE TABLE IF NOT EXISTS notification_rules (
    id            BIGINT AUTO_INCREMENT PRIMARY KEY,
    handler_name  VARCHAR(200) NOT NULL,
    webhook_url   TEXT NULL,
    sns_topic_arn VARCHAR(256) NULL,
    secret        TEXT NULL,
    is_enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    DATETIME(6) NOT NULL,
    updated_at    DATETIME(6) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS notification_rule_events (
    rule_id BIGINT NOT NULL,
    event   VARCHAR(16) NOT NULL,
    PRIMARY KEY (rule_id, event),
    CONSTRAINT notification_rule_events_rule FOREIGN KEY (rule_id) REFERENCES notification_rules (id)
        ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS notifications (
    id              BIGINT AUTO_INCREMENT PRIMARY KEY,
    rule_id         BIGINT NOT NULL,
    execution_id    BIGINT NULL,
    job_id          BIGINT NULL,
    slot            DATETIME(6) NULL,
    event           VARCHAR(16) NOT NULL,
    dedup_key       VARCHAR(200) NOT NULL,
    state           VARCHAR(16) NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED')),
    attempts        INT NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(6) NOT NULL,
    last_error      TEXT NULL,
    response_status INT NULL,
    delivered_at    DATETIME(6) NULL,
    created_at      DATETIME(6) NOT NULL,
    UNIQUE KEY notifications_once (rule_id, dedup_key),
    KEY notifications_due (state, next_attempt_at),
    KEY notifications_run (execution_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
