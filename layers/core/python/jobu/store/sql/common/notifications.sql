-- name: list_notification_rules
SELECT * FROM notification_rules ORDER BY id;

-- name: get_notification_rule^
SELECT * FROM notification_rules WHERE id = :id;

-- name: all_notification_rule_events
SELECT rule_id, event FROM notification_rule_events ORDER BY rule_id, event;

-- name: update_notification_rule!
UPDATE notification_rules
SET handler_name = :handler_name, webhook_url = :webhook_url, sns_topic_arn = :sns_topic_arn,
    secret = :secret, is_enabled = :is_enabled, updated_at = :now
WHERE id = :id;

-- name: delete_notification_rule!
DELETE FROM notification_rules WHERE id = :id;

-- name: delete_notification_rule_events!
DELETE FROM notification_rule_events WHERE rule_id = :id;

-- name: insert_notification_rule_event!
INSERT INTO notification_rule_events (rule_id, event) VALUES (:rule_id, :event);

-- name: due_notifications
-- The outbox's undelivered rows whose time has come (a first try, a retry, or a lease run out).
SELECT id, attempts FROM notifications
WHERE state = 'PENDING' AND next_attempt_at <= :now
ORDER BY next_attempt_at, id
LIMIT :limit;

-- name: due_run_notifications
SELECT id, attempts FROM notifications
WHERE execution_id = :execution_id AND state = 'PENDING' AND next_attempt_at <= :now
ORDER BY id;

-- name: claim_notification!
-- One deliverer per attempt: the row is leased (next_attempt_at moved past the send's timeout) by
-- whoever moves attempts on first; the others find attempts changed and leave it.
UPDATE notifications SET attempts = attempts + 1, next_attempt_at = :lease_until
WHERE id = :id AND state = 'PENDING' AND attempts = :attempts AND next_attempt_at <= :now;

-- name: get_notification_delivery^
SELECT n.*, r.webhook_url, r.sns_topic_arn, r.secret
FROM notifications AS n LEFT JOIN notification_rules AS r ON r.id = n.rule_id
WHERE n.id = :id;

-- name: notification_by_key^
SELECT * FROM notifications WHERE rule_id = :rule_id AND dedup_key = :dedup_key;

-- name: notification_delivered!
UPDATE notifications
SET state = 'DELIVERED', delivered_at = :now, response_status = :response_status, last_error = NULL
WHERE id = :id AND state = 'PENDING' AND attempts = :attempts;

-- name: notification_not_delivered!
UPDATE notifications
SET state = :state, next_attempt_at = :next_attempt_at, last_error = :error, response_status = :response_status
WHERE id = :id AND state = 'PENDING' AND attempts = :attempts;

-- name: list_rule_notifications
SELECT * FROM notifications WHERE rule_id = :rule_id ORDER BY id DESC LIMIT :limit;

-- name: enabled_notification_rules$
SELECT COUNT(*) FROM notification_rules WHERE is_enabled = :enabled;
