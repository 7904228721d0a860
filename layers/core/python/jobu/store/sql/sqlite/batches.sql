-- name: insert_batch<!
INSERT INTO batches (total, on_success, on_complete, created_by, created_at, idempotency_key)
VALUES (:total, :on_success, :on_complete, :created_by, :now, :idempotency_key);

-- name: insert_batch_children!
-- A page of a batch's runs in one statement (param_source 'api', as POST /api/runs makes them);
-- enqueued_by: the batch's creator.
INSERT INTO job_executions (handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, params_provenance, created_at, priority, tags, concurrency_key,
                            expires_at, trace_parent, batch_id, enqueued_by)
SELECT json_extract(r.value, '$.handler_name'), 'PENDING', json_extract(r.value, '$.params'), 'api',
       json_extract(r.value, '$.max_retry'), json_extract(r.value, '$.timeout_seconds'),
       COALESCE(json_extract(r.value, '$.available_at'), :now), json_extract(r.value, '$.params_provenance'),
       :now, COALESCE(json_extract(r.value, '$.priority'), 'normal'), json_extract(r.value, '$.tags'),
       json_extract(r.value, '$.concurrency_key'), json_extract(r.value, '$.expires_at'),
       json_extract(r.value, '$.trace_parent'), :batch_id, :enqueued_by
FROM json_each(:rows) AS r;

-- name: lock_batch^
-- The batch's row (SQLite: the IMMEDIATE transaction already serializes the children's ends).
SELECT * FROM batches WHERE id = :id;

-- name: insert_callback_execution<!
-- A batch's on_success / on_complete run; its parent is the child whose end completed the batch.
-- Runnable from that end (:available_at, its sender's clock), made (:now) no earlier than any end.
INSERT INTO job_executions (handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, parent_execution_id, created_at)
VALUES (:handler_name, 'PENDING', :params, 'api', :max_retry, :timeout_seconds, :available_at,
        :parent_execution_id, :now);

-- name: unstarted_batch_children
-- A page of the batch's WAITING and PENDING children, for the cancel that follows in the same
-- IMMEDIATE transaction.
SELECT id, handler_name, limit_state FROM job_executions
WHERE batch_id = :batch_id AND status IN ('WAITING', 'PENDING')
ORDER BY id
LIMIT :limit;

-- name: cancel_unstarted_executions!
UPDATE job_executions
SET status = 'CANCELLED', finished_at = :now, error_message = :reason
WHERE id IN (SELECT value FROM json_each(:ids)) AND status IN ('WAITING', 'PENDING');

-- name: batch_ends_of_runs
-- Of the runs of the list, the batch children that ended FAILED or TIMEOUT (an operator's retry takes
-- their ends back from their batches).
SELECT batch_id, status FROM job_executions
WHERE id IN (SELECT value FROM json_each(:ids)) AND batch_id IS NOT NULL AND status IN ('FAILED', 'TIMEOUT');

-- name: count_batches$
SELECT COUNT(*) FROM batches WHERE (:status IS NULL OR status = :status);

-- name: page_batches
SELECT * FROM batches
WHERE (:status IS NULL OR status = :status)
ORDER BY id DESC
LIMIT :limit OFFSET :offset;

-- name: delete_finished_batches!
-- Retention, with the runs': the oldest batches that ended before the cutoff, a bounded batch per
-- statement (their runs go by their own end times). One still RUNNING is never deleted.
DELETE FROM batches
WHERE id IN (SELECT id FROM batches WHERE finished_at < :cutoff ORDER BY finished_at LIMIT :limit);
