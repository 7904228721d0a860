-- Missed and late cron slots (jobu.cron_alerts, docs/notifications.md): seconds after a slot by which
-- its run must have started, or finished; past them the tick notifies MISSED or LATE, once per slot.
-- NULL: no alert. notifications.slot: the cron slot such a notification is about.
ALTER TABLE cron_jobs ADD COLUMN alert_if_not_started_within INT NULL;
ALTER TABLE cron_jobs ADD COLUMN alert_if_not_finished_within INT NULL;
