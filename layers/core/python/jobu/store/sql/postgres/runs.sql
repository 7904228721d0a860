-- jobu's queries on the job_executions table (a run): creation from every trigger, claim,
-- finish, retries, cancel, queue_one promotion, the sweeper's repairs, history, retention.
-- PostgreSQL (asyncpg). Optional filters are NULL when not given; asyncpg needs each
-- parameter's type (it cannot infer it in a SELECT list or a NULL test), hence the CASTs.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: count_executions$
SELECT COUNT(*) FROM job_executions AS e
WHERE (CAST(:job_id AS BIGINT) IS NULL OR e.job_id = :job_id)
  AND (CAST(:statuses AS JSONB) IS NULL
       OR e.status IN (SELECT jsonb_array_elements_text(CAST(:statuses AS JSONB))))
  AND (CAST(:handler_name AS TEXT) IS NULL OR e.handler_name = :handler_name)
  AND (CAST(:from_date AS TIMESTAMPTZ) IS NULL OR e.created_at >= :from_date)
  AND (CAST(:to_date AS TIMESTAMPTZ) IS NULL OR e.created_at <= :to_date)
  AND (CAST(:batch_id AS BIGINT) IS NULL OR e.batch_id = :batch_id)
  AND (CAST(:tags AS JSONB) IS NULL OR e.tags @> CAST(:tags AS JSONB))
  AND (CAST(:params AS JSONPATH) IS NULL OR e.params @@ CAST(:params AS JSONPATH));

-- name: page_executions
SELECT e.id, e.job_id, c.name AS cron_name, e.handler_name, e.scheduled_time, e.status, e.param_source,
       e.retry_count, e.max_retry, e.started_at, e.finished_at, e.created_at, e.parent_execution_id,
       SUBSTR(e.error_message, 1, 500) AS error_message, e.priority, e.tags
FROM job_executions AS e LEFT JOIN cron_jobs AS c ON c.id = e.job_id
WHERE (CAST(:job_id AS BIGINT) IS NULL OR e.job_id = :job_id)
  AND (CAST(:statuses AS JSONB) IS NULL
       OR e.status IN (SELECT jsonb_array_elements_text(CAST(:statuses AS JSONB))))
  AND (CAST(:handler_name AS TEXT) IS NULL OR e.handler_name = :handler_name)
  AND (CAST(:from_date AS TIMESTAMPTZ) IS NULL OR e.created_at >= :from_date)
  AND (CAST(:to_date AS TIMESTAMPTZ) IS NULL OR e.created_at <= :to_date)
  AND (CAST(:batch_id AS BIGINT) IS NULL OR e.batch_id = :batch_id)
  AND (CAST(:tags AS JSONB) IS NULL OR e.tags @> CAST(:tags AS JSONB))
  AND (CAST(:params AS JSONPATH) IS NULL OR e.params @@ CAST(:params AS JSONPATH))
ORDER BY e.id DESC
LIMIT :limit OFFSET :offset;

-- name: retry_finished_executions!
-- A new attempt of each run that is still FAILED or TIMEOUT: the attempt number moves on, so a late
-- message of the old attempt can never run it. A cancel asked of an earlier attempt is not this one's.
UPDATE job_executions
SET status = 'PENDING', retry_count = retry_count + 1, available_at = CAST(:now AS TIMESTAMPTZ),
    queued_at = NULL, deadline_at = NULL, cancel_requested_at = NULL
WHERE id IN (SELECT CAST(v AS BIGINT) FROM jsonb_array_elements_text(CAST(:ids AS JSONB)) AS v)
  AND status IN ('FAILED', 'TIMEOUT');

-- name: unqueued_executions_by_ids
SELECT * FROM job_executions
WHERE id IN (SELECT CAST(v AS BIGINT) FROM jsonb_array_elements_text(CAST(:ids AS JSONB)) AS v)
  AND status = 'PENDING' AND queued_at IS NULL
ORDER BY id;

-- name: insert_manual_execution<!
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, params_provenance, created_at, priority, tags, concurrency_key,
                            expires_at)
VALUES (:job_id, :handler_name, :status, :params, 'manual', :max_retry, :timeout_seconds, :now,
        :params_provenance, :now, :priority, :tags, :concurrency_key, :expires_at)
RETURNING id;

-- name: insert_api_execution<!
-- A run enqueued through the admin API; one with an idempotency key only by the request that holds
-- the key's claim (claim_idempotency_keys, in the same transaction). trace_parent: the request's
-- traceparent header, already checked (jobu.traces); enqueued_by: the request's principal.
INSERT INTO job_executions (handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, params_provenance, created_at, priority, tags, concurrency_key,
                            expires_at, idempotency_key, trace_parent, enqueued_by)
VALUES (:handler_name, 'PENDING', :params, 'api', :max_retry, :timeout_seconds, :available_at,
        :params_provenance, :now, :priority, :tags, :concurrency_key, :expires_at, :idempotency_key,
        :trace_parent, :enqueued_by)
RETURNING id;

-- name: insert_api_executions
-- Runs enqueued through the admin API without an idempotency key, a batch's in one statement, made
-- in the rows' order (ORDER BY their position): their ids ascend in that order, which is how the
-- caller pairs each id with its request.
INSERT INTO job_executions (handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, params_provenance, created_at, priority, tags, concurrency_key,
                            expires_at, trace_parent, enqueued_by)
SELECT r.value ->> 'handler_name', 'PENDING', r.value -> 'params', 'api',
       CAST(r.value ->> 'max_retry' AS INTEGER), CAST(r.value ->> 'timeout_seconds' AS INTEGER),
       COALESCE(CAST(r.value ->> 'available_at' AS TIMESTAMPTZ), CAST(:now AS TIMESTAMPTZ)),
       r.value -> 'params_provenance', CAST(:now AS TIMESTAMPTZ), COALESCE(r.value ->> 'priority', 'normal'),
       r.value -> 'tags', r.value ->> 'concurrency_key', CAST(r.value ->> 'expires_at' AS TIMESTAMPTZ),
       r.value ->> 'trace_parent', CAST(:enqueued_by AS TEXT)
FROM jsonb_array_elements(CAST(:rows AS JSONB)) WITH ORDINALITY AS r (value, position)
ORDER BY r.position
RETURNING id;

-- name: executions_by_ids
SELECT * FROM job_executions
WHERE id IN (SELECT CAST(v AS BIGINT) FROM jsonb_array_elements_text(CAST(:ids AS JSONB)) AS v)
ORDER BY id;

-- name: insert_event_executions!
-- One multi-row INSERT for a whole Kafka batch; a redelivered record hits the source key and is skipped.
-- A run with an idempotency key is made only by the record that holds the key's claim
-- (claim_idempotency_keys, in the same transaction); the others are duplicates.
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, source_topic, source_partition, source_offset, created_at,
                            params_provenance, expires_at, idempotency_key, priority, tags, concurrency_key)
SELECT r.job_id, r.handler_name, 'PENDING', r.params, 'event', r.max_retry, r.timeout_seconds,
       COALESCE(r.available_at, CAST(:now AS TIMESTAMPTZ)), r.source_topic, r.source_partition, r.source_offset,
       CAST(:now AS TIMESTAMPTZ), r.params_provenance, r.expires_at, r.idempotency_key,
       COALESCE(r.priority, 'normal'), r.tags, r.concurrency_key
FROM jsonb_to_recordset(CAST(:rows AS JSONB)) AS r (
    job_id BIGINT, handler_name TEXT, params JSONB, max_retry INTEGER, timeout_seconds INTEGER,
    source_topic TEXT, source_partition INTEGER, source_offset BIGINT, params_provenance JSONB,
    available_at TIMESTAMPTZ, expires_at TIMESTAMPTZ, idempotency_key TEXT, priority TEXT, tags JSONB,
    concurrency_key TEXT, claimed_by TEXT)
WHERE r.idempotency_key IS NULL
   OR EXISTS (SELECT 1 FROM idempotency_keys AS k
              WHERE k.handler_name = r.handler_name AND k.idempotency_key = r.idempotency_key
                AND k.claimed_by = r.claimed_by)
ON CONFLICT (source_topic, source_partition, source_offset) DO NOTHING;

-- name: claim_idempotency_keys!
-- Each (handler, key) once: a key held by a claim that has not expired stays with its holder (a second
-- dispatcher waits on the primary key until the first commits, then finds it held); an expired claim
-- passes to the new request.
INSERT INTO idempotency_keys (handler_name, idempotency_key, claimed_by, expires_at, created_at)
SELECT k.handler_name, k.idempotency_key, k.claimed_by, k.expires_at, CAST(:now AS TIMESTAMPTZ)
FROM jsonb_to_recordset(CAST(:keys AS JSONB)) AS k (
    handler_name TEXT, idempotency_key TEXT, claimed_by TEXT, expires_at TIMESTAMPTZ)
ORDER BY k.handler_name, k.idempotency_key
ON CONFLICT (handler_name, idempotency_key) DO UPDATE
SET claimed_by = EXCLUDED.claimed_by, expires_at = EXCLUDED.expires_at, created_at = EXCLUDED.created_at
WHERE idempotency_keys.expires_at <= EXCLUDED.created_at;

-- name: idempotency_claims
-- Who holds each key, and the latest run made with it (the run a duplicate is a duplicate of).
SELECT k.handler_name, k.idempotency_key, c.claimed_by,
       (SELECT MAX(e.id) FROM job_executions AS e
        WHERE e.handler_name = k.handler_name AND e.idempotency_key = k.idempotency_key) AS execution_id
FROM jsonb_to_recordset(CAST(:keys AS JSONB)) AS k (handler_name TEXT, idempotency_key TEXT)
LEFT JOIN idempotency_keys AS c ON c.handler_name = k.handler_name AND c.idempotency_key = k.idempotency_key;

-- name: unqueued_executions_for_sources
-- what the sends and the limits' admission need of a Kafka batch's runs (jobu.models.RunRef), not e.*
SELECT e.id, e.job_id, e.handler_name, e.scheduled_time, e.status, e.retry_count, e.queued_at, e.available_at, e.limit_state FROM job_executions AS e
JOIN jsonb_to_recordset(CAST(:sources AS JSONB)) AS s (source_topic TEXT, source_partition INTEGER,
                                                      source_offset BIGINT)
  ON e.source_topic = s.source_topic AND e.source_partition = s.source_partition
 AND e.source_offset = s.source_offset
WHERE e.status = 'PENDING' AND e.queued_at IS NULL
ORDER BY e.id;

-- name: insert_child_execution<!
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, parent_execution_id, created_at)
VALUES (:job_id, :handler_name, 'PENDING', :params, 'event', :max_retry, :timeout_seconds, :now,
        :parent_execution_id, :now)
RETURNING id;

-- name: mark_queued!
-- Only the attempt the message was for: a late mark for attempt n never hides attempt n + 1's lost message.
-- A later send of the same attempt (the sweeper's) moves queued_at on.
UPDATE job_executions AS e SET queued_at = CAST(:now AS TIMESTAMPTZ)
FROM jsonb_to_recordset(CAST(:runs AS JSONB)) AS r (id BIGINT, attempt INTEGER)
WHERE e.id = r.id AND e.retry_count = r.attempt;

-- name: list_executions
SELECT * FROM job_executions
WHERE (CAST(:status AS TEXT) IS NULL OR status = :status)
  AND (CAST(:handler_name AS TEXT) IS NULL OR handler_name = :handler_name)
  AND (CAST(:job_id AS BIGINT) IS NULL OR job_id = :job_id)
ORDER BY id DESC
LIMIT :limit;

-- name: insert_cron_runs!
-- One row per (job, slot) the tick decided on, the job's overlap policy applied in the statement:
-- allow: always; skip: only while no run of the job is active; queue_one: WAITING behind an active
-- run, at most one. UNIQUE(job_id, scheduled_time) makes a repeated tick create nothing.
INSERT INTO job_executions (job_id, handler_name, scheduled_time, status, params, param_source, max_retry,
                            timeout_seconds, available_at, created_at, priority, tags, concurrency_key, expires_at)
SELECT c.id, c.handler_name, s.scheduled_time,
       CASE WHEN CAST(:param_source AS TEXT) <> 'backfill' AND c.overlap_policy = 'queue_one'
                 AND EXISTS (SELECT 1 FROM job_executions AS a
                             WHERE a.job_id = c.id AND a.status IN ('PENDING', 'RUNNING'))
            THEN 'WAITING' ELSE 'PENDING' END,
       c.handler_params, CAST(:param_source AS TEXT), c.max_retry, c.timeout_seconds,
       CAST(:now AS TIMESTAMPTZ), CAST(:now AS TIMESTAMPTZ),
       c.priority, c.tags, c.concurrency_key,
       CASE WHEN c.ttl_seconds IS NULL THEN NULL ELSE CAST(:now AS TIMESTAMPTZ) + c.ttl_seconds * INTERVAL '1 second' END
FROM jsonb_to_recordset(CAST(:slots AS JSONB)) AS s (job_id BIGINT, scheduled_time TIMESTAMPTZ)
JOIN cron_jobs AS c ON c.id = s.job_id
WHERE c.overlap_policy = 'allow' OR CAST(:param_source AS TEXT) = 'backfill'
   OR (c.overlap_policy = 'skip'
       AND NOT EXISTS (SELECT 1 FROM job_executions AS a
                       WHERE a.job_id = c.id AND a.status IN ('WAITING', 'PENDING', 'RUNNING')))
   OR (c.overlap_policy = 'queue_one'
       AND NOT EXISTS (SELECT 1 FROM job_executions AS a WHERE a.job_id = c.id AND a.status = 'WAITING'))
ON CONFLICT (job_id, scheduled_time) DO NOTHING;

-- name: runs_for_slots
SELECT e.id, e.job_id, e.handler_name, e.scheduled_time, e.status, e.retry_count, e.queued_at, e.available_at
FROM job_executions AS e
JOIN jsonb_to_recordset(CAST(:slots AS JSONB)) AS s (job_id BIGINT, scheduled_time TIMESTAMPTZ)
  ON e.job_id = s.job_id AND e.scheduled_time = s.scheduled_time
ORDER BY e.id;

-- name: delete_finished_runs!
-- Retention: the oldest finished runs past the cutoff, a bounded batch per statement. The outer
-- WHERE repeats the conditions: a row the DELETE had to wait for (an operator retrying it) is checked
-- again as it is now (PostgreSQL re-checks only the outer WHERE), so a retried run is never deleted.
DELETE FROM job_executions
WHERE id IN (SELECT id FROM job_executions
             WHERE status IN ('SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED', 'EXPIRED') AND finished_at < :cutoff
             ORDER BY finished_at LIMIT :limit)
  AND status IN ('SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED', 'EXPIRED') AND finished_at < :cutoff;

-- name: claim_execution^
-- The conditional update that decides who runs: only a PENDING row of the message's attempt. A
-- cancel request left by an earlier attempt is cleared: it was not for this one. A run never started
-- by its expires_at is refused (the worker then records it EXPIRED). It
-- returns the claimed run, so reading and claiming are one statement. The deadline is the run's own
-- timeout from now (timeout_base = now + the worker's margin), or deadline_at if that comes first.
-- A run admitted under its handler's limits comes with the handler's row (limits_*: an operator's
-- rate, or the code's when not overridden), so only a rate-limited run's claim costs one more
-- statement (jobu.store.limits, take_start).
WITH claimed AS (
    UPDATE job_executions
    SET status = 'RUNNING', started_at = :now, finished_at = NULL, cancel_requested_at = NULL,
        deadline_at = LEAST(CAST(:timeout_base AS TIMESTAMPTZ) + timeout_seconds * INTERVAL '1 second',
                            CAST(:deadline_at AS TIMESTAMPTZ))
    WHERE id = :id AND status = 'PENDING' AND retry_count = :attempt
      AND (expires_at IS NULL OR started_at IS NOT NULL OR expires_at > CAST(:now AS TIMESTAMPTZ))
    RETURNING *
)
SELECT c.*, h.overridden AS limits_overridden, h.rate_limit AS limits_rate_limit,
       h.rate_period_seconds AS limits_rate_period_seconds, h.rate_burst AS limits_rate_burst
FROM claimed AS c LEFT JOIN handler_limits AS h ON c.limit_state = 'admitted' AND h.handler_name = c.handler_name;

-- name: lock_retryable_executions
-- The runs of the list still FAILED or TIMEOUT, locked for the retry that follows in the same
-- transaction: a concurrent retry waits, then finds them PENDING and takes none (each reports only
-- the runs it retried, each run is queued once).
SELECT id FROM job_executions
WHERE id IN (SELECT CAST(v AS BIGINT) FROM jsonb_array_elements_text(CAST(:ids AS JSONB)) AS v)
  AND status IN ('FAILED', 'TIMEOUT')
ORDER BY id
FOR UPDATE;

-- name: prune_idempotency_keys!
-- Retention: claims expired before the cutoff (a new request would take such a claim over anyway), a
-- bounded batch; the outer WHERE re-checks a claim a new request took over meanwhile.
DELETE FROM idempotency_keys
WHERE (handler_name, idempotency_key) IN (SELECT handler_name, idempotency_key FROM idempotency_keys
                                          WHERE expires_at < :cutoff ORDER BY expires_at LIMIT :limit)
  AND expires_at < :cutoff;
