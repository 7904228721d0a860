-- jobu's queries on debounce windows (the debounce_keys and debounce_requests tables, and the
-- debounced runs of job_executions): jobu.store.debounce. Written the same way for every backend;
-- the dialect's file of the same name holds the rest. Parameters always bound.

-- name: debounce_window^
-- The (handler, key) row the request has just written (debounce_touch_key): it holds the row's lock.
SELECT execution_id, first_at, start_by FROM debounce_keys
WHERE handler_name = :handler_name AND debounce_key = :debounce_key;

-- name: debounce_request_run$
SELECT execution_id FROM debounce_requests WHERE request_key = :request_key;

-- name: set_debounce_request_run!
UPDATE debounce_requests SET execution_id = :execution_id WHERE request_key = :request_key;

-- name: open_debounce_window!
-- A new window: its run, its first request, the latest start its max wait allows.
UPDATE debounce_keys SET execution_id = :execution_id, first_at = :now, start_by = :start_by
WHERE handler_name = :handler_name AND debounce_key = :debounce_key;

-- name: join_debounced_run!
-- A later request of the window: the run takes its params and its start, only while it still waits
-- (never sent, never started). Else (0 rows) the request opens a new window.
UPDATE job_executions
SET params = :params, params_provenance = :params_provenance, available_at = :available_at,
    expires_at = :expires_at, trace_parent = :trace_parent
WHERE id = :id AND status = 'PENDING' AND started_at IS NULL AND queued_at IS NULL AND retry_count = 0
  AND available_at > :now;

-- name: debounced_executions_due
-- The sweeper's: debounced runs are left unsent until they may start (a later request may still
-- move them); each is sent once its available_at has come.
SELECT * FROM job_executions
WHERE debounce_key IS NOT NULL AND status = 'PENDING' AND queued_at IS NULL AND available_at <= :now
ORDER BY available_at, id
LIMIT :limit;
