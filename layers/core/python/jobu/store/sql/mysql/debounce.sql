-- jobu's queries on debounce windows, MySQL's and MariaDB's part (jobu.store.debounce);
-- common/debounce.sql holds the rest. Parameters always bound.

-- name: claim_debounce_request!
-- A Kafka record's request, once: a redelivered record finds its row and is not a new request (a
-- second dispatcher with the same record waits on the primary key, then finds it). IGNORE: the
-- duplicate key is the only error this INSERT can meet.
INSERT IGNORE INTO debounce_requests (request_key, execution_id, created_at)
VALUES (:request_key, NULL, :now);

-- name: debounce_touch_key!
-- Every request writes its (handler, key) row first: the row lock serialises two dispatchers with
-- the same key for the rest of their transactions.
INSERT INTO debounce_keys (handler_name, debounce_key, execution_id, first_at, start_by, updated_at)
VALUES (:handler_name, :debounce_key, NULL, :now, NULL, :now)
ON DUPLICATE KEY UPDATE updated_at = VALUES(updated_at);

-- name: insert_debounced_execution<!
-- A debounce window's run: PENDING, left unsent until its available_at (the sweeper sends it).
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, params_provenance, created_at, priority, tags, concurrency_key,
                            expires_at, trace_parent, source_topic, source_partition, source_offset,
                            debounce_key)
VALUES (:job_id, :handler_name, 'PENDING', :params, :param_source, :max_retry, :timeout_seconds,
        :available_at, :params_provenance, :now, :priority, :tags, :concurrency_key, :expires_at,
        :trace_parent, :source_topic, :source_partition, :source_offset, :debounce_key);

-- name: prune_debounce_keys!
-- Retention: windows no request touched since the cutoff (their run has long started), a bounded batch.
DELETE FROM debounce_keys WHERE updated_at < :cutoff ORDER BY updated_at LIMIT :limit;

-- name: prune_debounce_requests!
DELETE FROM debounce_requests WHERE created_at < :cutoff ORDER BY created_at LIMIT :limit;
