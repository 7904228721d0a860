-- name: insert_batch<!
INSERT INTO batches (total, on_success, on_complete, created_by, created_at, idempotency_key)
VALUES (:total, :on_success, :on_complete, :created_by, :now, :idempotency_key)
RETURNING id;

-- name: insert_batch_children!
-- A page of a batch's runs in one statement (param_source 'api', as POST /api/runs makes them);
-- enqueued_by: the batch's creator.
INSERT INTO job_executions (handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, params_provenance, created_at, priority, tags, concurrency_key,
                            expires_at, trace_parent, batch_id, enqueued_by)
SELECT r.handler_name, 'PENDING', r.params, 'api', r.max_retry, r.timeout_seconds,
       COALESCE(r.available_at, CAST(:now AS TIMESTAMPTZ)), r.params_provenance, CAST(:now AS TIMESTAMPTZ),
       COALESCE(r.priority, 'normal'), r.tags, r.concurrency_key, r.expires_at, r.trace_parent,
       CAST(:batch_id AS BIGINT), CAST(:enqueued_by AS TEXT)
FROM jsonb_to_recordset(CAST(:rows AS JSONB)) AS r (
    handler_name TEXT, params JSONB, max_retry INTEGER, timeout_seconds INTEGER, available_at TIMESTAMPTZ,
    params_provenance JSONB, priority TEXT, tags JSONB, concurrency_key TEXT, expires_at TIMESTAMPTZ,
    trace_parent TEXT);

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
        :parent_execution_id, :now)
RETURNING id;

-- name: unstarted_batch_children
-- A page of the batch's WAITING and PENDING children, locked for the cancel that follows.
SELECT id, handler_name, limit_state FROM job_executions
WHERE batch_id = :batch_id AND status IN ('WAITING', 'PENDING')
ORDER BY id
LIMIT :limit
FOR UPDATE;

-- name: cancel_unstarted_executions!
UPDATE job_executions
SET status = 'CANCELLED', finished_at = :now, error_message = :reason
WHERE id IN (SELECT CAST(v AS BIGINT) FROM jsonb_array_elements_text(CAST(:ids AS JSONB)) AS v)
  AND status IN ('WAITING', 'PENDING');

-- name: batch_ends_of_runs
-- Of the runs of the list, the batch children that ended FAILED or TIMEOUT (an operator's retry takes
-- their ends back from their batches).
SELECT batch_id, status FROM job_executions
WHERE id IN (SELECT CAST(v AS BIGINT) FROM jsonb_array_elements_text(CAST(:ids AS JSONB)) AS v)
  AND batch_id IS NOT NULL AND status IN ('FAILED', 'TIMEOUT');

-- name: count_batches$
SELECT COUNT(*) FROM batches WHERE (CAST(:status AS TEXT) IS NULL OR status = :status);

-- name: page_batches
SELECT * FROM batches
WHERE (CAST(:status AS TEXT) IS NULL OR status = :status)
ORDER BY id DESC
LIMIT :limit OFFSET :offset;

-- name: delete_finished_batches!
-- Retention, with the runs': the oldest batches that ended before the cutoff, a bounded batch per
-- statement (their runs go by their own end times). One still RUNNING is never deleted.
DELETE FROM batches
WHERE id IN (SELECT id FROM batches WHERE finished_at < :cutoff ORDER BY finished_at LIMIT :limit);
