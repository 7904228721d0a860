-- A run enqueued through the admin API (POST /api/runs) is param_source 'api'.
ALTER TABLE job_executions DROP CONSTRAINT IF EXISTS job_executions_param_source_check;
ALTER TABLE job_executions ADD CONSTRAINT job_executions_param_source_check
    CHECK (param_source IN ('cron', 'event', 'manual', 'backfill', 'api'));
