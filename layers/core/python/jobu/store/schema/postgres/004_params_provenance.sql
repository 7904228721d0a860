-- What the admin API reads:
--   params_provenance: where each top-level key of params came from when params were merged from
--     more than one place (a cron job's handler_params under an event's or an operator's), as
--     {"key": "cron" | "event" | "manual" | "backfill"}; NULL when every key came from param_source.
--   indexes for the run history: by creation time (the from/to filter) and a run's children.
ALTER TABLE job_executions ADD COLUMN IF NOT EXISTS params_provenance JSONB;
CREATE INDEX IF NOT EXISTS job_executions_created ON job_executions (created_at, id);
CREATE INDEX IF NOT EXISTS job_executions_parent ON job_executions (parent_execution_id);
