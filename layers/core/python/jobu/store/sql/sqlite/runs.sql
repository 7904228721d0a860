-- jobu's queries on the job_executions table (a run): creation from every trigger, claim,
-- finish, retries, cancel, queue_one promotion, the sweeper's repairs, history, retention.
-- SQLite (aiosqlite). Optional filters are NULL when not given; lists and batches arrive as one
-- JSON document unpacked with json_each, so a Kafka batch is one multi-row INSERT with one parameter.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.
-- "WHERE true" before ON CONFLICT: SQLite's parser needs it after INSERT ... SELECT ... FROM.

-- name: count_executions$
SELECT COUNT(*) FROM job_executions AS e
WHERE (:job_id IS NULL OR e.job_id = :job_id)
  AND (:statuses IS NULL OR e.status IN (SELECT value FROM json_each(:statuses)))
  AND (:handler_name IS NULL OR e.handler_name = :handler_name)
  AND (:from_date IS NULL OR e.created_at >= :from_date)
  AND (:to_date IS NULL OR e.created_at <= :to_date)
  AND (:batch_id IS NULL OR e.batch_id = :batch_id)
  AND (:tags IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(:tags) AS t
                                     WHERE t.value NOT IN (SELECT value FROM json_each(e.tags))))
  AND (:params IS NULL OR NOT EXISTS (
      SELECT 1 FROM json_each(:params) AS f
      WHERE NOT EXISTS (
          SELECT 1 FROM json_each(e.params) AS p
          WHERE p.key = json_extract(f.value, '$.k')
            AND CASE p.type
                WHEN 'text' THEN p.value = json_extract(f.value, '$.s')
                WHEN 'integer' THEN p.value = json_extract(f.value, '$.n')
                WHEN 'real' THEN p.value = json_extract(f.value, '$.n')
                WHEN 'true' THEN json_extract(f.value, '$.lit') = 'true'
                WHEN 'false' THEN json_extract(f.value, '$.lit') = 'false'
                WHEN 'null' THEN json_extract(f.value, '$.lit') = 'null'
                ELSE 0 END)));

-- name: page_executions
SELECT e.id, e.job_id, c.name AS cron_name, e.handler_name, e.scheduled_time, e.status, e.param_source,
       e.retry_count, e.max_retry, e.started_at, e.finished_at, e.created_at, e.parent_execution_id,
       SUBSTR(e.error_message, 1, 500) AS error_message, e.priority, e.tags
FROM job_executions AS e LEFT JOIN cron_jobs AS c ON c.id = e.job_id
WHERE (:job_id IS NULL OR e.job_id = :job_id)
  AND (:statuses IS NULL OR e.status IN (SELECT value FROM json_each(:statuses)))
  AND (:handler_name IS NULL OR e.handler_name = :handler_name)
  AND (:from_date IS NULL OR e.created_at >= :from_date)
  AND (:to_date IS NULL OR e.created_at <= :to_date)
  AND (:batch_id IS NULL OR e.batch_id = :batch_id)
  AND (:tags IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(:tags) AS t
                                     WHERE t.value NOT IN (SELECT value FROM json_each(e.tags))))
  AND (:params IS NULL OR NOT EXISTS (
      SELECT 1 FROM json_each(:params) AS f
      WHERE NOT EXISTS (
          SELECT 1 FROM json_each(e.params) AS p
          WHERE p.key = json_extract(f.value, '$.k')
            AND CASE p.type
                WHEN 'text' THEN p.value = json_extract(f.value, '$.s')
                WHEN 'integer' THEN p.value = json_extract(f.value, '$.n')
                WHEN 'real' THEN p.value = json_extract(f.value, '$.n')
                WHEN 'true' THEN json_extract(f.value, '$.lit') = 'true'
                WHEN 'false' THEN json_extract(f.value, '$.lit') = 'false'
                WHEN 'null' THEN json_extract(f.value, '$.lit') = 'null'
                ELSE 0 END)))
ORDER BY e.id DESC
LIMIT :limit OFFSET :offset;

-- name: retry_finished_executions!
-- A new attempt of each run that is still FAILED or TIMEOUT: the attempt number moves on, so a late
-- message of the old attempt can never run it. A cancel asked of an earlier attempt is not this one's.
UPDATE job_executions
SET status = 'PENDING', retry_count = retry_count + 1, available_at = :now, queued_at = NULL,
    deadline_at = NULL, cancel_requested_at = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND status IN ('FAILED', 'TIMEOUT');

-- name: unqueued_executions_by_ids
SELECT * FROM job_executions
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'PENDING' AND queued_at IS NULL
ORDER BY id;

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

-- name: insert_api_executions
-- Runs enqueued through the admin API without an idempotency key, a batch's in one statement, made
-- in the rows' order (ORDER BY their position): their ids ascend in that order, which is how the
-- caller pairs each id with its request.
INSERT INTO job_executions (handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, params_provenance, created_at, priority, tags, concurrency_key,
                            expires_at, trace_parent, enqueued_by)
SELECT json_extract(r.value, '$.handler_name'), 'PENDING', json_extract(r.value, '$.params'), 'api',
       json_extract(r.value, '$.max_retry'), json_extract(r.value, '$.timeout_seconds'),
       COALESCE(json_extract(r.value, '$.available_at'), :now), json_extract(r.value, '$.params_provenance'),
       :now, COALESCE(json_extract(r.value, '$.priority'), 'normal'), json_extract(r.value, '$.tags'),
       json_extract(r.value, '$.concurrency_key'), json_extract(r.value, '$.expires_at'),
       json_extract(r.value, '$.trace_parent'), :enqueued_by
FROM json_each(:rows) AS r
WHERE true
ORDER BY r.key
RETURNING id;

-- name: executions_by_ids
SELECT * FROM job_executions WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id;

-- name: insert_event_executions!
-- One multi-row INSERT for a whole Kafka batch; a redelivered record hits the source key and is skipped.
-- A run with an idempotency key is made only by the record that holds the key's claim
-- (claim_idempotency_keys, in the same transaction); the others are duplicates.
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, source_topic, source_partition, source_offset, created_at,
                            params_provenance, expires_at, idempotency_key, priority, tags, concurrency_key)
SELECT json_extract(r.value, '$.job_id'), json_extract(r.value, '$.handler_name'), 'PENDING',
       json_extract(r.value, '$.params'), 'event', json_extract(r.value, '$.max_retry'),
       json_extract(r.value, '$.timeout_seconds'), COALESCE(json_extract(r.value, '$.available_at'), :now),
       json_extract(r.value, '$.source_topic'), json_extract(r.value, '$.source_partition'),
       json_extract(r.value, '$.source_offset'), :now, json_extract(r.value, '$.params_provenance'),
       json_extract(r.value, '$.expires_at'), json_extract(r.value, '$.idempotency_key'),
       COALESCE(json_extract(r.value, '$.priority'), 'normal'), json_extract(r.value, '$.tags'),
       json_extract(r.value, '$.concurrency_key')
FROM json_each(:rows) AS r
WHERE json_extract(r.value, '$.idempotency_key') IS NULL
   OR EXISTS (SELECT 1 FROM idempotency_keys AS k
              WHERE k.handler_name = json_extract(r.value, '$.handler_name')
                AND k.idempotency_key = json_extract(r.value, '$.idempotency_key')
                AND k.claimed_by = json_extract(r.value, '$.claimed_by'))
ON CONFLICT (source_topic, source_partition, source_offset) DO NOTHING;

-- name: claim_idempotency_keys!
-- Each (handler, key) once: a key held by a claim that has not expired stays with its holder; an
-- expired claim passes to the new request.
INSERT INTO idempotency_keys (handler_name, idempotency_key, claimed_by, expires_at, created_at)
SELECT json_extract(k.value, '$.handler_name'), json_extract(k.value, '$.idempotency_key'),
       json_extract(k.value, '$.claimed_by'), json_extract(k.value, '$.expires_at'), :now
FROM json_each(:keys) AS k
WHERE true
ON CONFLICT (handler_name, idempotency_key) DO UPDATE
SET claimed_by = excluded.claimed_by, expires_at = excluded.expires_at, created_at = excluded.created_at
WHERE idempotency_keys.expires_at <= excluded.created_at;

-- name: idempotency_claims
-- Who holds each key, and the latest run made with it (the run a duplicate is a duplicate of).
SELECT json_extract(k.value, '$.handler_name') AS handler_name,
       json_extract(k.value, '$.idempotency_key') AS idempotency_key, c.claimed_by,
       (SELECT MAX(e.id) FROM job_executions AS e
        WHERE e.handler_name = json_extract(k.value, '$.handler_name')
          AND e.idempotency_key = json_extract(k.value, '$.idempotency_key')) AS execution_id
FROM json_each(:keys) AS k
LEFT JOIN idempotency_keys AS c ON c.handler_name = json_extract(k.value, '$.handler_name')
                               AND c.idempotency_key = json_extract(k.value, '$.idempotency_key');

-- name: unqueued_executions_for_sources
-- what the sends and the limits' admission need of a Kafka batch's runs (jobu.models.RunRef), not e.*
SELECT e.id, e.job_id, e.handler_name, e.scheduled_time, e.status, e.retry_count, e.queued_at, e.available_at, e.limit_state FROM json_each(:sources) AS s
CROSS JOIN job_executions AS e
  ON e.source_topic = json_extract(s.value, '$.source_topic')
 AND e.source_partition = json_extract(s.value, '$.source_partition')
 AND e.source_offset = json_extract(s.value, '$.source_offset')
WHERE e.status = 'PENDING' AND e.queued_at IS NULL
ORDER BY e.id;

-- name: insert_child_execution<!
INSERT INTO job_executions (job_id, handler_name, status, params, param_source, max_retry, timeout_seconds,
                            available_at, parent_execution_id, created_at)
VALUES (:job_id, :handler_name, 'PENDING', :params, 'event', :max_retry, :timeout_seconds, :now,
        :parent_execution_id, :now);

-- name: mark_queued!
-- Only the attempt the message was for: a late mark for attempt n never hides attempt n + 1's lost message.
-- A later send of the same attempt (the sweeper's) moves queued_at on. UPDATE ... FROM: each run by id.
UPDATE job_executions SET queued_at = :now
FROM json_each(:runs) AS r
WHERE job_executions.id = json_extract(r.value, '$.id')
  AND job_executions.retry_count = json_extract(r.value, '$.attempt');

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
SELECT c.id, c.handler_name, json_extract(s.value, '$.scheduled_time'),
       CASE WHEN :param_source <> 'backfill' AND c.overlap_policy = 'queue_one'
                 AND EXISTS (SELECT 1 FROM job_executions AS a
                             WHERE a.job_id = c.id AND a.status IN ('PENDING', 'RUNNING'))
            THEN 'WAITING' ELSE 'PENDING' END,
       c.handler_params, :param_source, c.max_retry, c.timeout_seconds, :now, :now,
       c.priority, c.tags, c.concurrency_key,
       CASE WHEN c.ttl_seconds IS NULL THEN NULL
            ELSE strftime('%Y-%m-%d %H:%M:%f', :now, '+' || c.ttl_seconds || ' seconds') || '000' END
FROM json_each(:slots) AS s
CROSS JOIN cron_jobs AS c ON c.id = json_extract(s.value, '$.job_id')
WHERE c.overlap_policy = 'allow' OR :param_source = 'backfill'
   OR (c.overlap_policy = 'skip'
       AND NOT EXISTS (SELECT 1 FROM job_executions AS a
                       WHERE a.job_id = c.id AND a.status IN ('WAITING', 'PENDING', 'RUNNING')))
   OR (c.overlap_policy = 'queue_one'
       AND NOT EXISTS (SELECT 1 FROM job_executions AS a WHERE a.job_id = c.id AND a.status = 'WAITING'))
ON CONFLICT (job_id, scheduled_time) DO NOTHING;

-- name: runs_for_slots
-- CROSS JOIN keeps this order: each slot looks its run up in UNIQUE(job_id, scheduled_time).
SELECT e.id, e.job_id, e.handler_name, e.scheduled_time, e.status, e.retry_count, e.queued_at, e.available_at
FROM json_each(:slots) AS s
CROSS JOIN job_executions AS e
  ON e.job_id = json_extract(s.value, '$.job_id') AND e.scheduled_time = json_extract(s.value, '$.scheduled_time')
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
-- A run admitted under its handler's limits comes with the handler's row (limits_*), so only a
-- rate-limited run's claim costs one more statement (jobu.store.limits, take_start).
-- strftime's %f has milliseconds: '000' pads them to the microseconds jobu stores (TIME_FORMAT), so
-- the text still compares as time compares.
UPDATE job_executions
SET status = 'RUNNING', started_at = :now, finished_at = NULL, cancel_requested_at = NULL,
    deadline_at = MIN(strftime('%Y-%m-%d %H:%M:%f', :timeout_base, '+' || timeout_seconds || ' seconds') || '000',
                      :deadline_at)
WHERE id = :id AND status = 'PENDING' AND retry_count = :attempt
  AND (expires_at IS NULL OR started_at IS NOT NULL OR expires_at > :now)
RETURNING *,
    (SELECT h.overridden FROM handler_limits AS h
     WHERE job_executions.limit_state = 'admitted' AND h.handler_name = job_executions.handler_name) AS limits_overridden,
    (SELECT h.rate_limit FROM handler_limits AS h
     WHERE job_executions.limit_state = 'admitted' AND h.handler_name = job_executions.handler_name) AS limits_rate_limit,
    (SELECT h.rate_period_seconds FROM handler_limits AS h
     WHERE job_executions.limit_state = 'admitted' AND h.handler_name = job_executions.handler_name) AS limits_rate_period_seconds,
    (SELECT h.rate_burst FROM handler_limits AS h
     WHERE job_executions.limit_state = 'admitted' AND h.handler_name = job_executions.handler_name) AS limits_rate_burst;

-- name: lock_retryable_executions
-- The runs of the list still FAILED or TIMEOUT, for the retry that follows in the same IMMEDIATE
-- transaction (SQLite's lock): each retry reports only the runs it retried, each run queued once.
SELECT id FROM job_executions
WHERE id IN (SELECT value FROM json_each(:ids)) AND status IN ('FAILED', 'TIMEOUT')
ORDER BY id;

-- name: prune_idempotency_keys!
-- Retention: claims expired before the cutoff (a new request would take such a claim over anyway), a
-- bounded batch.
DELETE FROM idempotency_keys
WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE expires_at < :cutoff ORDER BY expires_at LIMIT :limit)
  AND expires_at < :cutoff;
