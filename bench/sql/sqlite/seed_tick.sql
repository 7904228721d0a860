-- bench/cron_tick.py: the seed's per-job run insert.

-- name: seed_insert_cron_run!
INSERT INTO job_executions (job_id, handler_name, scheduled_time, status, params, param_source, max_retry,
                            timeout_seconds, available_at, created_at)
VALUES (:job_id, :handler_name, :scheduled_time, 'PENDING', '{}', 'cron', 0, 300, :now, :now)
ON CONFLICT (job_id, scheduled_time) DO NOTHING;
