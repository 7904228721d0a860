-- Who enqueued a run through the admin API (POST /api/runs, /api/runs/batch, /api/batches): the
-- IAM principal of the request ('local' for the local runtime), as its audit row names it. NULL for a
-- run a cron job, a Kafka record, a retry or a callback made. At most 512 characters: the store
-- keeps the principal's first 512 (an IAM ARN is shorter; the audit row keeps it whole).
ALTER TABLE job_executions ADD COLUMN IF NOT EXISTS enqueued_by VARCHAR(512);
