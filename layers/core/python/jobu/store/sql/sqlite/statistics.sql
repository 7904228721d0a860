-- jobu's queries on job_executions' aggregates for the dashboard (runs per status, per time
-- bucket, per job); the filters are count_executions' (runs.sql).
-- SQLite (aiosqlite). Optional filters are NULL when not given; lists and batches arrive as one
-- JSON document unpacked with json_each, so a Kafka batch is one multi-row INSERT with one parameter.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.
-- Times are text ('YYYY-MM-DD HH:MM:SS.ffffff', UTC): their arithmetic is on seconds since the epoch,
-- whole seconds from strftime('%s') plus the fraction after character 20 (julianday's doubles lose
-- microseconds).

-- name: run_status_counts
SELECT e.status, COUNT(*) AS runs FROM job_executions AS e
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
GROUP BY e.status;

-- name: run_timeline
-- Runs created in [from_date, to_date), per bucket of bucket_seconds from from_date and per status,
-- with the sum, count and maximum of the durations of those that started and finished.
SELECT CAST(((CAST(strftime('%s', e.created_at) AS INTEGER) + CAST(SUBSTR(e.created_at, 20) AS REAL)) - (CAST(strftime('%s', :from_date) AS INTEGER) + CAST(SUBSTR(:from_date, 20) AS REAL))) / :bucket_seconds AS INTEGER) AS bucket,
       e.status,
       COUNT(*) AS runs,
       COUNT(CASE WHEN e.started_at IS NOT NULL AND e.finished_at IS NOT NULL THEN 1 END) AS timed,
       SUM((CAST(strftime('%s', e.finished_at) AS INTEGER) + CAST(SUBSTR(e.finished_at, 20) AS REAL))
           - (CAST(strftime('%s', e.started_at) AS INTEGER) + CAST(SUBSTR(e.started_at, 20) AS REAL))) AS duration_sum,
       MAX((CAST(strftime('%s', e.finished_at) AS INTEGER) + CAST(SUBSTR(e.finished_at, 20) AS REAL))
           - (CAST(strftime('%s', e.started_at) AS INTEGER) + CAST(SUBSTR(e.started_at, 20) AS REAL))) AS duration_max
FROM job_executions AS e
WHERE e.created_at >= :from_date AND e.created_at < :to_date
  AND (:job_id IS NULL OR e.job_id = :job_id)
  AND (:statuses IS NULL OR e.status IN (SELECT value FROM json_each(:statuses)))
  AND (:handler_name IS NULL OR e.handler_name = :handler_name)
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
GROUP BY 1, 2;

-- name: recent_runs_by_job
-- The latest per_job runs of each cron job in job_ids (a JSON array), newest first.
SELECT job_id, id, status, created_at, started_at, finished_at FROM (
    SELECT e.job_id, e.id, e.status, e.created_at, e.started_at, e.finished_at,
           ROW_NUMBER() OVER (PARTITION BY e.job_id ORDER BY e.id DESC) AS position
    FROM job_executions AS e
    WHERE e.job_id IN (SELECT value FROM json_each(:job_ids))
) AS ranked
WHERE position <= :per_job
ORDER BY job_id, id DESC;
