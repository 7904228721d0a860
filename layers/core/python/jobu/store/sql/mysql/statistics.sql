-- jobu's queries on job_executions' aggregates for the dashboard (runs per status, per time
-- bucket, per job); the filters are count_executions' (runs.sql).
-- MySQL 8 / MariaDB 10.6+ (asyncmy, through jobu.store.asyncmy_adapter). Optional filters are NULL
-- when not given; lists and batches arrive as one JSON document unpacked with JSON_TABLE, so a Kafka
-- batch is one multi-row INSERT with a single bound parameter.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: run_status_counts
SELECT e.status, COUNT(*) AS runs FROM job_executions AS e
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
GROUP BY e.status;

-- name: run_timeline
-- Runs created in [from_date, to_date), per bucket of bucket_seconds from from_date and per status,
-- with the sum, count and maximum of the durations of those that started and finished.
SELECT FLOOR(TIMESTAMPDIFF(MICROSECOND, :from_date, e.created_at) / 1000000 / :bucket_seconds) AS bucket,
       e.status,
       COUNT(*) AS runs,
       COUNT(TIMESTAMPDIFF(MICROSECOND, e.started_at, e.finished_at)) AS timed,
       SUM(TIMESTAMPDIFF(MICROSECOND, e.started_at, e.finished_at)) / 1000000 AS duration_sum,
       MAX(TIMESTAMPDIFF(MICROSECOND, e.started_at, e.finished_at)) / 1000000 AS duration_max
FROM job_executions AS e
WHERE e.created_at >= :from_date AND e.created_at < :to_date
  AND (:job_id IS NULL OR e.job_id = :job_id)
  AND (:statuses IS NULL OR JSON_CONTAINS(:statuses, JSON_QUOTE(e.status)))
  AND (:handler_name IS NULL OR e.handler_name = :handler_name)
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
GROUP BY 1, 2;

-- name: recent_runs_by_job
-- The latest per_job runs of each cron job in job_ids (a JSON array), newest first.
SELECT job_id, id, status, created_at, started_at, finished_at FROM (
    SELECT e.job_id, e.id, e.status, e.created_at, e.started_at, e.finished_at,
           ROW_NUMBER() OVER (PARTITION BY e.job_id ORDER BY e.id DESC) AS position
    FROM job_executions AS e
    JOIN JSON_TABLE(:job_ids, '$[*]' COLUMNS (id BIGINT PATH '$')) AS j ON e.job_id = j.id
) AS ranked
WHERE position <= :per_job
ORDER BY job_id, id DESC;
