-- jobu's queries on the batches table (jobu.store.batches) and on a batch's children (the runs of
-- job_executions with its batch_id). Written the same way for every backend; the dialect's file of
-- the same name holds the rest. Loaded by name with aiosql; parameters always bound.

-- name: get_batch^
SELECT * FROM batches WHERE id = :id;

-- name: batch_key_holder^
-- Who holds a batch's idempotency key (its claim in idempotency_keys, under the handler name :scope no
-- run has), and the latest batch made with it: the batch a retried request is a duplicate of.
SELECT c.claimed_by,
       (SELECT MAX(b.id) FROM batches AS b WHERE b.idempotency_key = :idempotency_key) AS batch_id
FROM idempotency_keys AS c
WHERE c.handler_name = :scope AND c.idempotency_key = :idempotency_key;

-- name: batch_status_counts
-- The batch's children by their status now (the batch row counts only their ends).
SELECT status, COUNT(*) AS runs FROM job_executions WHERE batch_id = :id GROUP BY status;

-- name: batch_children
SELECT * FROM job_executions WHERE batch_id = :batch_id ORDER BY id;

-- name: batch_child_ids
SELECT id FROM job_executions WHERE batch_id = :batch_id ORDER BY id;

-- name: add_batch_ends!
-- Children's ends (or, negative, ends taken back by an operator's retry), counted in the transaction
-- that records them. Never once the batch has ended (its callbacks made: its counts are final), and
-- never past its total.
UPDATE batches
SET succeeded = succeeded + :succeeded, failed = failed + :failed, timed_out = timed_out + :timed_out,
    cancelled = cancelled + :cancelled, expired = expired + :expired
WHERE id = :id AND finished_at IS NULL
  AND succeeded + failed + timed_out + cancelled + expired + :ended <= total;

-- name: close_batch!
-- The last child's end: the batch's final status and its callback runs, once (finished_at).
UPDATE batches
SET status = :status, finished_at = :now, success_run_id = :success_run_id, complete_run_id = :complete_run_id
WHERE id = :id AND finished_at IS NULL;

-- name: cancel_batch!
UPDATE batches SET cancelled_at = :now WHERE id = :id AND cancelled_at IS NULL AND finished_at IS NULL;

-- name: batch_last_end$
-- When the batch's last run ended, as stored: a run's end is stamped with its worker's clock before
-- it waits for the batch row, so the run counted last need not carry the latest time.
SELECT MAX(finished_at) FROM job_executions WHERE batch_id = :batch_id;
