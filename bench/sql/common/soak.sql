-- bench/soak.py: what the soak's handlers write and what its final check reads, on every backend.

-- name: insert_soak_effect!
INSERT INTO soak_effects (execution_id, attempt) VALUES (:execution_id, :attempt);

-- name: soak_effects_per_run
SELECT execution_id, COUNT(*) AS effects FROM soak_effects GROUP BY execution_id;

-- name: soak_runs
SELECT id, handler_name, status, param_source, retry_count, max_retry, error_message,
       source_topic, source_partition, source_offset, job_id, scheduled_time, idempotency_key,
       debounce_key, params
FROM job_executions;

-- name: soak_rejected
SELECT record_key, source_topic, source_partition, source_offset FROM rejected_events;

-- name: soak_batches
-- bench/soak_batches.py: every batch, and the runs of the API (a batch's runs and its callbacks).
SELECT * FROM batches ORDER BY id;

-- name: soak_api_runs
SELECT * FROM job_executions WHERE param_source = 'api' ORDER BY id;
