-- Scheduling users can trust (docs/scheduling.md): see the PostgreSQL file for what each column means.
ALTER TABLE cron_jobs ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE cron_jobs ADD COLUMN catchup_policy TEXT NOT NULL DEFAULT 'coalesce'
    CHECK (catchup_policy IN ('coalesce', 'skip', 'all'));
ALTER TABLE cron_jobs ADD COLUMN catchup_limit INTEGER NOT NULL DEFAULT 10 CHECK (catchup_limit >= 1);
ALTER TABLE cron_jobs ADD COLUMN catchup_window_seconds INTEGER CHECK (catchup_window_seconds > 0);
ALTER TABLE cron_jobs ADD COLUMN overlap_policy TEXT NOT NULL DEFAULT 'allow'
    CHECK (overlap_policy IN ('allow', 'skip', 'queue_one'));
UPDATE cron_jobs SET overlap_policy = 'skip' WHERE NOT allow_overlap;
ALTER TABLE cron_jobs ADD COLUMN paused_at TEXT;
ALTER TABLE cron_jobs ADD COLUMN paused_until TEXT;

ALTER TABLE job_executions ADD COLUMN cancel_requested_at TEXT;
CREATE INDEX IF NOT EXISTS job_executions_finished ON job_executions (finished_at)
    WHERE status IN ('SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED');
