-- jobu's queries on job_executions' aggregates for the dashboard (runs per status, per time
-- bucket, per job); the filters are count_executions' (runs.sql).
-- PostgreSQL (asyncpg). Optional filters are NULL when not given; asyncpg needs each
-- parameter's type (it cannot infer it in a SELECT list or a NULL test), hence the CASTs.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: run_status_counts
SELECT e.status, COUNT(*) AS runs FROM job_executions AS e
WHERE (CAST(:job_id AS BIGINT) IS NULL OR e.job_id = :job_id)
  AND (CAST(:statuses AS JSONB) IS NULL
       OR e.status IN (SELECT jsonb_array_elements_text(CAST(:statuses AS JSONB))))
  AND (CAST(:handler_name AS TEXT) IS NULL OR e.handler_name = :handler_name)
  AND (CAST(:from_date AS TIMESTAMPTZ) IS NULL OR e.created_at >= :from_date)
  AND (CAST(:to_date AS TIMESTAMPTZ) IS NULL OR e.created_at <= :to_date)
  AND (CAST(:batch_id AS BIGINT) IS NULL OR e.batch_id = :batch_id)
  AND (CAST(:tags AS JSONB) IS NULL OR e.tags @> CAST(:tags AS JSONB))
  AND (CAST(:params AS JSONPATH) IS NULL OR e.params @@ CAST(:params AS JSONPATH))
GROUP BY e.status;

-- name: run_timeline
-- Runs created in [from_date, to_date), per bucket of bucket_seconds from from_date and per status,
-- with the sum, count and maximum of the durations of those that started and finished.
SELECT CAST(FLOOR(EXTRACT(EPOCH FROM (e.created_at - CAST(:from_date AS TIMESTAMPTZ)))
                  / CAST(:bucket_seconds AS INTEGER)) AS BIGINT) AS bucket,
       e.status,
       COUNT(*) AS runs,
       COUNT(e.finished_at - e.started_at) AS timed,
       SUM(CAST(EXTRACT(EPOCH FROM (e.finished_at - e.started_at)) AS DOUBLE PRECISION)) AS duration_sum,
       MAX(CAST(EXTRACT(EPOCH FROM (e.finished_at - e.started_at)) AS DOUBLE PRECISION)) AS duration_max
FROM job_executions AS e
WHERE e.created_at >= CAST(:from_date AS TIMESTAMPTZ) AND e.created_at < CAST(:to_date AS TIMESTAMPTZ)
  AND (CAST(:job_id AS BIGINT) IS NULL OR e.job_id = :job_id)
  AND (CAST(:statuses AS JSONB) IS NULL
       OR e.status IN (SELECT jsonb_array_elements_text(CAST(:statuses AS JSONB))))
  AND (CAST(:handler_name AS TEXT) IS NULL OR e.handler_name = :handler_name)
  AND (CAST(:batch_id AS BIGINT) IS NULL OR e.batch_id = :batch_id)
  AND (CAST(:tags AS JSONB) IS NULL OR e.tags @> CAST(:tags AS JSONB))
  AND (CAST(:params AS JSONPATH) IS NULL OR e.params @@ CAST(:params AS JSONPATH))
GROUP BY 1, 2;

-- name: recent_runs_by_job
-- The latest per_job runs of each cron job in job_ids (a JSON array), newest first.
SELECT job_id, id, status, created_at, started_at, finished_at FROM (
    SELECT e.job_id, e.id, e.status, e.created_at, e.started_at, e.finished_at,
           ROW_NUMBER() OVER (PARTITION BY e.job_id ORDER BY e.id DESC) AS position
    FROM job_executions AS e
    WHERE e.job_id IN (SELECT CAST(v AS BIGINT) FROM jsonb_array_elements_text(CAST(:job_ids AS JSONB)) AS v)
) AS ranked
WHERE position <= :per_job
ORDER BY job_id, id DESC;
