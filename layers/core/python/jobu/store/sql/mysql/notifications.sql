-- name: insert_notification_rule<!
INSERT INTO notification_rules (handler_name, webhook_url, sns_topic_arn, secret, is_enabled, created_at, updated_at)
VALUES (:handler_name, :webhook_url, :sns_topic_arn, :secret, :is_enabled, :now, :now);

-- name: queue_run_notifications!
-- In the transaction that records a run's outcome: one row per enabled rule of its handler (or '*')
-- that asks for the event (or, for RECOVERED, for SUCCESS too); written once, whatever repeats.
INSERT IGNORE INTO notifications (rule_id, execution_id, job_id, event, dedup_key, state, attempts,
                                  next_attempt_at, created_at)
SELECT DISTINCT r.id, e.id, e.job_id, :event, :dedup_key, 'PENDING', 0, :now, :now
FROM job_executions AS e
JOIN notification_rules AS r ON (r.handler_name = e.handler_name OR r.handler_name = '*') AND r.is_enabled = 1
JOIN notification_rule_events AS v ON v.rule_id = r.id AND (v.event = :event OR v.event = :also)
WHERE e.id = :execution_id;

-- name: insert_notification!
INSERT IGNORE INTO notifications (rule_id, execution_id, job_id, slot, event, dedup_key, state, attempts,
                                  next_attempt_at, created_at)
VALUES (:rule_id, :execution_id, :job_id, :slot, :event, :dedup_key, 'PENDING', 0, :now, :now);
