-- What the admin API reads:
--   params_provenance: where each top-level key of params came from when params were merged from
--     more than one place (a cron job's handler_params under an event's or an operator's), as
--     {"key": "cron" | "event" | "manual" | "backfill"}; NULL when every key came from param_source.
--   an index for the run history by creation time (the from/to filter); children use job_executions_parent (003).
ALTER TABLE job_executions
    ADD COLUMN params_provenance JSON NULL AFTER parent_execution_id,
    ADD KEY job_executions_created (created_at, id);
