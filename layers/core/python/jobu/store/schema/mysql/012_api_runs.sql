-- A run enqueued through the admin API (POST /api/runs) is param_source 'api'.
-- The check is named since 003, so both MySQL and MariaDB drop it by name.
ALTER TABLE job_executions DROP CONSTRAINT job_executions_param_source_check;
ALTER TABLE job_executions
    ADD CONSTRAINT job_executions_param_source_check
        CHECK (param_source IN ('cron', 'event', 'manual', 'backfill', 'api'));
