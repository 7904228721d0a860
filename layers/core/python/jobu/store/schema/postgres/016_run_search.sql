-- Runs found by their params (GET /api/jobs?param.<key>=<value>): the history's filter is one
-- jsonpath predicate, `params @@ 'strict $."key" == "value" ...'`, which a GIN index with
-- jsonb_path_ops answers (equality on any top-level or nested key), as the tags' index answers `@>`.
CREATE INDEX IF NOT EXISTS job_executions_params ON job_executions USING GIN (params jsonb_path_ops);
