-- name: insert_batch<!
INSERT INTO batches (total, on_success, on_complete, created_by, created_at, idempotency_key)
VALUES (:total, :on_success, :on_complete, :created_by, :now, :idempotency_key);

-- name: insert_batch_children!
-- A page of a batch's runs in one statement (param_source 'api', as POST /api/runs makes them);
-- enqueued_by: the batch's creator.
INSERT INTO job_executions (handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, params_provenance, created_at, priority, tags, concurrency_key,
                            expires_at, trace_parent, batch_id, enqueued_by)
SELECT r.handler_name, 'PENDING', r.params, 'api', r.max_retry, r.timeout_seconds,
       COALESCE(r.available_at, :now), r.params_provenance, :now, COALESCE(r.priority, 'normal'), r.tags,
       r.concurrency_key, r.expires_at, r.trace_parent, :batch_id, :enqueued_by
FROM JSON_TABLE(:rows, '$[*]' COLUMNS (
    handler_name VARCHAR(200) PATH '$.handler_name', params JSON PATH '$.params',
    max_retry INT PATH '$.max_retry', timeout_seconds INT PATH '$.timeout_seconds',
    available_at DATETIME(6) PATH '$.available_at', params_provenance JSON PATH '$.params_provenance',
    priority VARCHAR(8) PATH '$.priority', tags JSON PATH '$.tags',
    concurrency_key VARCHAR(200) PATH '$.concurrency_key', expires_at DATETIME(6) PATH '$.expires_at',
    trace_parent VARCHAR(55) PATH '$.trace_parent')) AS r;

-- name: lock_batch^
-- The batch's row, locked until the transaction ends: the ends of two children count one after the
-- other, and only one of them sees the last end. A locking read sees the latest committed row.
SELECT * FROM batches WHERE id = :id FOR UPDATE;

-- name: insert_callback_execution<!
-- A batch's on_success / on_complete run; its parent is the child whose end completed the batch.
-- Runnable from that end (:available_at, its sender's clock), made (:now) no earlier than any end.
INSERT INTO job_executions (handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, parent_execution_id, created_at)
VALUES (:handler_name, 'PENDING', :params, 'api', :max_retry, :timeout_seconds, :available_at,
        :parent_execution_id, :now);

-- name: unstarted_batch_children
-- A page of the batch's WAITING and PENDING children, locked for the cancel that follows.
SELECT id, handler_name, limit_state FROM job_executions
WHERE batch_id = :batch_id AND status IN ('WAITING', 'PENDING')
ORDER BY id
LIMIT :limit
FOR UPDATE;

-- name: cancel_unstarted_executions!
UPDATE job_executions AS e
JOIN JSON_TABLE(:ids, '$[*]' COLUMNS (id BIGINT PATH '$')) AS r ON e.id = r.id
SET e.status = 'CANCELLED', e.finished_at = :now, e.error_message = :reason
WHERE e.status IN ('WAITING', 'PENDING');

-- name: batch_ends_of_runs
-- Of the runs of the list, the batch children that ended FAILED or TIMEOUT (an operator's retry takes
-- their ends back from their batches).
SELECT e.batch_id, e.status FROM job_executions AS e
JOIN JSON_TABLE(:ids, '$[*]' COLUMNS (id BIGINT PATH '$')) AS r ON e.id = r.id
WHERE e.batch_id IS NOT NULL AND e.status IN ('FAILED', 'TIMEOUT');

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
DELETE FROM batches WHERE finished_at < :cutoff ORDER BY finished_at LIMIT :limit;
