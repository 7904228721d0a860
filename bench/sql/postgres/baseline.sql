-- The per-record baseline of bench/queue_dispatch.py: one INSERT per Kafka record.

-- name: insert_one_event_execution<!
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, source_topic, source_partition, source_offset, created_at)
VALUES (NULL, :handler_name, 'PENDING', :params, 'event', 0, 300, :now, :topic, :partition, :offset, :now)
ON CONFLICT (source_topic, source_partition, source_offset) DO NOTHING
RETURNING id;
