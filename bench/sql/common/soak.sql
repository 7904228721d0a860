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
