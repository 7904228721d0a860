-- name: set_cron_job_alerts!
UPDATE cron_jobs
SET alert_if_not_started_within = :started_within, alert_if_not_finished_within = :finished_within
WHERE id = :id;

-- name: alerted_cron_jobs
SELECT * FROM cron_jobs
WHERE alert_if_not_started_within IS NOT NULL OR alert_if_not_finished_within IS NOT NULL
ORDER BY id;

-- name: rules_for_event
-- The rules a MISSED or LATE slot of a job notifies (its handler's or every handler's).
SELECT r.id, r.is_enabled FROM notification_rules AS r
JOIN notification_rule_events AS v ON v.rule_id = r.id
WHERE v.event = :event AND (r.handler_name = :handler_name OR r.handler_name = '*')
ORDER BY r.id;
