-- jobu's queries on the job_executions table (a run): creation from every trigger, claim,
-- finish, retries, cancel, queue_one promotion, the sweeper's repairs, history, retention.
-- MySQL 8 / MariaDB 10.6+ (asyncmy, through jobu.store.asyncmy_adapter). Optional filters are NULL
-- when not given; lists and batches arrive as one JSON document unpacked with JSON_TABLE, so a Kafka
-- batch is one multi-row INSERT with a single bound parameter.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: count_executions$
SELECT COUNT(*) FROM job_executions AS e
WHERE (:job_id IS NULL OR e.job_id = :job_id)
  AND (:statuses IS NULL OR JSON_CONTAINS(:statuses, JSON_QUOTE(e.status)))
  AND (:handler_name IS NULL OR e.handler_name = :handler_name)
  AND (:from_date IS NULL OR e.created_at >= :from_date)
  AND (:to_date IS NULL OR e.created_at <= :to_date)
  AND (:batch_id IS NULL OR e.batch_id = :batch_id)
  AND (:tags IS NULL OR JSON_CONTAINS(e.tags, :tags))
  AND (:params IS NULL OR NOT EXISTS (
      SELECT 1 FROM JSON_TABLE(:params, '$[*]' COLUMNS (k VARCHAR(64) PATH '$.k', s VARCHAR(200) PATH '$.s',
                                                      n DOUBLE PATH '$.n', lit VARCHAR(5) PATH '$.lit')) AS f
      WHERE NOT COALESCE(CASE JSON_TYPE(JSON_EXTRACT(e.params, CONCAT('$.', f.k)))
          WHEN 'STRING' THEN CAST(JSON_UNQUOTE(JSON_EXTRACT(e.params, CONCAT('$.', f.k))) AS BINARY)
                             = CAST(f.s AS BINARY)
          WHEN 'INTEGER' THEN CAST(JSON_EXTRACT(e.params, CONCAT('$.', f.k)) AS DOUBLE) = f.n
          WHEN 'UNSIGNED INTEGER' THEN CAST(JSON_EXTRACT(e.params, CONCAT('$.', f.k)) AS DOUBLE) = f.n
          WHEN 'DOUBLE' THEN CAST(JSON_EXTRACT(e.params, CONCAT('$.', f.k)) AS DOUBLE) = f.n
          WHEN 'DECIMAL' THEN CAST(JSON_EXTRACT(e.params, CONCAT('$.', f.k)) AS DOUBLE) = f.n
          WHEN 'BOOLEAN' THEN JSON_UNQUOTE(JSON_EXTRACT(e.params, CONCAT('$.', f.k))) = f.lit
          WHEN 'NULL' THEN f.lit = 'null'
          ELSE FALSE END, FALSE)));

-- name: page_executions
SELECT e.id, e.job_id, c.name AS cron_name, e.handler_name, e.scheduled_time, e.status, e.param_source,
       e.retry_count, e.max_retry, e.started_at, e.finished_at, e.created_at, e.parent_execution_id,
       SUBSTR(e.error_message, 1, 500) AS error_message, e.priority, e.tags
FROM job_executions AS e LEFT JOIN cron_jobs AS c ON c.id = e.job_id
WHERE (:job_id IS NULL OR e.job_id = :job_id)
  AND (:statuses IS NULL OR JSON_CONTAINS(:statuses, JSON_QUOTE(e.status)))
  AND (:handler_name IS NULL OR e.handler_name = :handler_name)
  AND (:from_date IS NULL OR e.created_at >= :from_date)
  AND (:to_date IS NULL OR e.created_at <= :to_date)
  AND (:batch_id IS NULL OR e.batch_id = :batch_id)
  AND (:tags IS NULL OR JSON_CONTAINS(e.tags, :tags))
  AND (:params IS NULL OR NOT EXISTS (
      SELECT 1 FROM JSON_TABLE(:params, '$[*]' COLUMNS (k VARCHAR(64) PATH '$.k', s VARCHAR(200) PATH '$.s',
                                                      n DOUBLE PATH '$.n', lit VARCHAR(5) PATH '$.lit')) AS f
      WHERE NOT COALESCE(CASE JSON_TYPE(JSON_EXTRACT(e.params, CONCAT('$.', f.k)))
          WHEN 'STRING' THEN CAST(JSON_UNQUOTE(JSON_EXTRACT(e.params, CONCAT('$.', f.k))) AS BINARY)
                             = CAST(f.s AS BINARY)
          WHEN 'INTEGER' THEN CAST(JSON_EXTRACT(e.params, CONCAT('$.', f.k)) AS DOUBLE) = f.n
          WHEN 'UNSIGNED INTEGER' THEN CAST(JSON_EXTRACT(e.params, CONCAT('$.', f.k)) AS DOUBLE) = f.n
          WHEN 'DOUBLE' THEN CAST(JSON_EXTRACT(e.params, CONCAT('$.', f.k)) AS DOUBLE) = f.n
          WHEN 'DECIMAL' THEN CAST(JSON_EXTRACT(e.params, CONCAT('$.', f.k)) AS DOUBLE) = f.n
          WHEN 'BOOLEAN' THEN JSON_UNQUOTE(JSON_EXTRACT(e.params, CONCAT('$.', f.k))) = f.lit
          WHEN 'NULL' THEN f.lit = 'null'
          ELSE FALSE END, FALSE)))
ORDER BY e.id DESC
LIMIT :limit OFFSET :offset;

-- name: retry_finished_executions!
-- A new attempt of each run that is still FAILED or TIMEOUT: the attempt number moves on, so a late
-- message of the old attempt can never run it. A cancel asked of an earlier attempt is not this one's.
UPDATE job_executions AS e
JOIN JSON_TABLE(:ids, '$[*]' COLUMNS (id BIGINT PATH '$')) AS r ON e.id = r.id
SET e.status = 'PENDING', e.retry_count = e.retry_count + 1, e.available_at = :now, e.queued_at = NULL,
    e.deadline_at = NULL, e.cancel_requested_at = NULL
WHERE e.status IN ('FAILED', 'TIMEOUT');

-- name: unqueued_executions_by_ids
SELECT e.* FROM job_executions AS e
JOIN JSON_TABLE(:ids, '$[*]' COLUMNS (id BIGINT PATH '$')) AS r ON e.id = r.id
WHERE e.status = 'PENDING' AND e.queued_at IS NULL
ORDER BY e.id;

-- name: insert_manual_execution<!
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, params_provenance, created_at, priority, tags, concurrency_key,
                            expires_at)
VALUES (:job_id, :handler_name, :status, :params, 'manual', :max_retry, :timeout_seconds, :now,
        :params_provenance, :now, :priority, :tags, :concurrency_key, :expires_at);

-- name: insert_api_execution<!
-- A run enqueued through the admin API; one with an idempotency key only by the request that holds
-- the key's claim (claim_idempotency_keys, in the same transaction). trace_parent: the request's
-- traceparent header, already checked (jobu.traces); enqueued_by: the request's principal.
INSERT INTO job_executions (handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, params_provenance, created_at, priority, tags, concurrency_key,
                            expires_at, idempotency_key, trace_parent, enqueued_by)
VALUES (:handler_name, 'PENDING', :params, 'api', :max_retry, :timeout_seconds, :available_at,
        :params_provenance, :now, :priority, :tags, :concurrency_key, :expires_at, :idempotency_key,
        :trace_parent, :enqueued_by);

-- name: executions_by_ids
SELECT e.* FROM job_executions AS e
JOIN JSON_TABLE(:ids, '$[*]' COLUMNS (id BIGINT PATH '$')) AS r ON e.id = r.id
ORDER BY e.id;

-- name: insert_event_executions!
-- One multi-row INSERT for a whole Kafka batch; a redelivered record hits the source key and is skipped.
-- A run with an idempotency key is made only by the record that holds the key's claim
-- (claim_idempotency_keys, in the same transaction); the others are duplicates.
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, source_topic, source_partition, source_offset, created_at,
                            params_provenance, expires_at, idempotency_key, priority, tags, concurrency_key)
SELECT r.job_id, r.handler_name, 'PENDING', r.params, 'event', r.max_retry, r.timeout_seconds,
       COALESCE(r.available_at, :now), r.source_topic, r.source_partition, r.source_offset, :now,
       r.params_provenance, r.expires_at, r.idempotency_key, COALESCE(r.priority, 'normal'), r.tags,
       r.concurrency_key
FROM JSON_TABLE(:rows, '$[*]' COLUMNS (
    job_id BIGINT PATH '$.job_id', handler_name VARCHAR(200) PATH '$.handler_name',
    params JSON PATH '$.params', max_retry INT PATH '$.max_retry', timeout_seconds INT PATH '$.timeout_seconds',
    source_topic VARCHAR(249) PATH '$.source_topic', source_partition INT PATH '$.source_partition',
    source_offset BIGINT PATH '$.source_offset', params_provenance JSON PATH '$.params_provenance',
    available_at DATETIME(6) PATH '$.available_at', expires_at DATETIME(6) PATH '$.expires_at',
    idempotency_key VARCHAR(200) PATH '$.idempotency_key', priority VARCHAR(8) PATH '$.priority',
    tags JSON PATH '$.tags', concurrency_key VARCHAR(200) PATH '$.concurrency_key',
    claimed_by VARCHAR(400) PATH '$.claimed_by')) AS r
WHERE r.idempotency_key IS NULL
   OR EXISTS (SELECT 1 FROM idempotency_keys AS k
              WHERE k.handler_name = r.handler_name AND k.idempotency_key = r.idempotency_key
                AND k.claimed_by = r.claimed_by)
ON DUPLICATE KEY UPDATE id = job_executions.id;

-- name: claim_idempotency_keys!
-- Each (handler, key) once: a key held by a claim that has not expired stays with its holder (a second
-- dispatcher waits on the primary key until the first commits, then finds it held); an expired claim
-- passes to the new request. expires_at is assigned last: MySQL applies the assignments in order, so
-- each test reads the old claim's expiry.
INSERT INTO idempotency_keys (handler_name, idempotency_key, claimed_by, expires_at, created_at)
SELECT k.handler_name, k.idempotency_key, k.claimed_by, k.expires_at, :now
FROM JSON_TABLE(:keys, '$[*]' COLUMNS (
    handler_name VARCHAR(200) PATH '$.handler_name', idempotency_key VARCHAR(200) PATH '$.idempotency_key',
    claimed_by VARCHAR(400) PATH '$.claimed_by', expires_at DATETIME(6) PATH '$.expires_at')) AS k
ORDER BY k.handler_name, k.idempotency_key
ON DUPLICATE KEY UPDATE
    claimed_by = IF(idempotency_keys.expires_at <= VALUES(created_at), VALUES(claimed_by), idempotency_keys.claimed_by),
    created_at = IF(idempotency_keys.expires_at <= VALUES(created_at), VALUES(created_at), idempotency_keys.created_at),
    expires_at = IF(idempotency_keys.expires_at <= VALUES(created_at), VALUES(expires_at), idempotency_keys.expires_at);

-- name: idempotency_claims
-- Who holds each key, and the latest run made with it (the run a duplicate is a duplicate of).
SELECT k.handler_name, k.idempotency_key, c.claimed_by,
       (SELECT MAX(e.id) FROM job_executions AS e
        WHERE e.handler_name = k.handler_name AND e.idempotency_key = k.idempotency_key) AS execution_id
FROM JSON_TABLE(:keys, '$[*]' COLUMNS (
    handler_name VARCHAR(200) PATH '$.handler_name', idempotency_key VARCHAR(200) PATH '$.idempotency_key')) AS k
LEFT JOIN idempotency_keys AS c ON c.handler_name = k.handler_name AND c.idempotency_key = k.idempotency_key;

-- name: unqueued_executions_for_sources
-- what the sends and the limits' admission need of a Kafka batch's runs (jobu.models.RunRef), not e.*
SELECT e.id, e.job_id, e.handler_name, e.scheduled_time, e.status, e.retry_count, e.queued_at, e.available_at, e.limit_state FROM job_executions AS e
JOIN JSON_TABLE(:sources, '$[*]' COLUMNS (
    source_topic VARCHAR(249) PATH '$.source_topic', source_partition INT PATH '$.source_partition',
    source_offset BIGINT PATH '$.source_offset')) AS s
  ON e.source_topic = s.source_topic AND e.source_partition = s.source_partition
 AND e.source_offset = s.source_offset
WHERE e.status = 'PENDING' AND e.queued_at IS NULL
ORDER BY e.id;

-- name: insert_child_execution<!
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, parent_execution_id, created_at)
VALUES (:job_id, :handler_name, 'PENDING', :params, 'event', :max_retry, :timeout_seconds, :now,
        :parent_execution_id, :now);

-- name: mark_queued!
-- Only the attempt the message was for: a late mark for attempt n never hides attempt n + 1's lost message.
-- A later send of the same attempt (the sweeper's) moves queued_at on.
UPDATE job_executions AS e
JOIN JSON_TABLE(:runs, '$[*]' COLUMNS (id BIGINT PATH '$.id', attempt INT PATH '$.attempt')) AS r
  ON e.id = r.id AND e.retry_count = r.attempt
SET e.queued_at = :now;

-- name: list_executions
SELECT * FROM job_executions
WHERE (:status IS NULL OR status = :status)
  AND (:handler_name IS NULL OR handler_name = :handler_name)
  AND (:job_id IS NULL OR job_id = :job_id)
ORDER BY id DESC
LIMIT :limit;

-- name: insert_cron_runs!
-- One row per (job, slot) the tick decided on, the job's overlap policy applied in the statement.
INSERT INTO job_executions (job_id, handler_name, scheduled_time, status, params, param_source, max_retry,
                            timeout_seconds, available_at, created_at, priority, tags, concurrency_key, expires_at)
SELECT c.id, c.handler_name, s.scheduled_time,
       CASE WHEN :param_source <> 'backfill' AND c.overlap_policy = 'queue_one'
                 AND EXISTS (SELECT 1 FROM job_executions AS a
                             WHERE a.job_id = c.id AND a.status IN ('PENDING', 'RUNNING'))
            THEN 'WAITING' ELSE 'PENDING' END,
       c.handler_params, :param_source, c.max_retry, c.timeout_seconds, :now, :now,
       c.priority, c.tags, c.concurrency_key,
       DATE_ADD(:now, INTERVAL c.ttl_seconds SECOND)
FROM JSON_TABLE(:slots, '$[*]' COLUMNS (
    job_id BIGINT PATH '$.job_id', scheduled_time DATETIME(6) PATH '$.scheduled_time')) AS s
JOIN cron_jobs AS c ON c.id = s.job_id
WHERE c.overlap_policy = 'allow' OR :param_source = 'backfill'
   OR (c.overlap_policy = 'skip'
       AND NOT EXISTS (SELECT 1 FROM job_executions AS a
                       WHERE a.job_id = c.id AND a.status IN ('WAITING', 'PENDING', 'RUNNING')))
   OR (c.overlap_policy = 'queue_one'
       AND NOT EXISTS (SELECT 1 FROM job_executions AS a WHERE a.job_id = c.id AND a.status = 'WAITING'))
ON DUPLICATE KEY UPDATE id = job_executions.id;

-- name: runs_for_slots
SELECT e.id, e.job_id, e.handler_name, e.scheduled_time, e.status, e.retry_count, e.queued_at, e.available_at
FROM job_executions AS e
JOIN JSON_TABLE(:slots, '$[*]' COLUMNS (
    job_id BIGINT PATH '$.job_id', scheduled_time DATETIME(6) PATH '$.scheduled_time')) AS s
  ON e.job_id = s.job_id AND e.scheduled_time = s.scheduled_time
ORDER BY e.id;

-- name: delete_finished_runs!
-- Retention: the oldest finished runs past the cutoff, a bounded batch per statement.
DELETE FROM job_executions
WHERE status IN ('SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED', 'EXPIRED') AND finished_at < :cutoff
ORDER BY finished_at LIMIT :limit;

-- name: claim_execution!
-- The conditional update that decides who runs: only a PENDING row of the message's attempt, and not
-- a run never started by its expires_at (the worker then records it EXPIRED). A cancel request left
-- by an earlier attempt is cleared: it was not for this one. MySQL
-- and MariaDB have no UPDATE ... RETURNING, so the store reads the claimed row next, on the same
-- connection. The deadline is the run's own timeout from now (timeout_base = now + the worker's
-- margin), or deadline_at if that comes first.
UPDATE job_executions
SET status = 'RUNNING', started_at = :now, finished_at = NULL, cancel_requested_at = NULL,
    deadline_at = LEAST(DATE_ADD(:timeout_base, INTERVAL timeout_seconds SECOND), :deadline_at)
WHERE id = :id AND status = 'PENDING' AND retry_count = :attempt
  AND (expires_at IS NULL OR started_at IS NOT NULL OR expires_at > :now);

-- name: get_claimed_execution^
-- The row claim_execution claimed, read next on the same connection; a run admitted under its
-- handler's limits comes with the handler's row (limits_*), so only a rate-limited run's claim costs
-- one more statement (jobu.store.limits, take_start).
SELECT e.*, h.overridden AS limits_overridden, h.rate_limit AS limits_rate_limit,
       h.rate_period_seconds AS limits_rate_period_seconds, h.rate_burst AS limits_rate_burst
FROM job_executions AS e
LEFT JOIN handler_limits AS h ON e.limit_state = 'admitted' AND h.handler_name = e.handler_name
WHERE e.id = :id;

-- name: lock_retryable_executions
-- The runs of the list still FAILED or TIMEOUT, locked for the retry that follows in the same
-- transaction: a concurrent retry waits, then finds them PENDING and takes none (each reports only
-- the runs it retried, each run is queued once). A locking read sees the latest committed rows.
SELECT e.id FROM job_executions AS e
JOIN JSON_TABLE(:ids, '$[*]' COLUMNS (id BIGINT PATH '$')) AS r ON e.id = r.id
WHERE e.status IN ('FAILED', 'TIMEOUT')
ORDER BY e.id
FOR UPDATE;

-- name: prune_idempotency_keys!
-- Retention: claims expired before the cutoff (a new request would take such a claim over anyway), a
-- bounded batch.
DELETE FROM idempotency_keys WHERE expires_at < :cutoff ORDER BY expires_at LIMIT :limit;
