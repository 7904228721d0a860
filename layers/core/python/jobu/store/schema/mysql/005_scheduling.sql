-- Scheduling users can trust (docs/scheduling.md): see the PostgreSQL file for what each column means.
ALTER TABLE cron_jobs
    ADD COLUMN timezone VARCHAR(64) NOT NULL DEFAULT 'UTC',
    ADD COLUMN catchup_policy VARCHAR(16) NOT NULL DEFAULT 'coalesce',
    ADD COLUMN catchup_limit INT NOT NULL DEFAULT 10,
    ADD COLUMN catchup_window_seconds INT NULL,
    ADD COLUMN overlap_policy VARCHAR(16) NOT NULL DEFAULT 'allow',
    ADD COLUMN paused_at DATETIME(6) NULL,
    ADD COLUMN paused_until DATETIME(6) NULL,
    ADD CONSTRAINT cron_jobs_catchup_policy CHECK (catchup_policy IN ('coalesce', 'skip', 'all')),
    ADD CONSTRAINT cron_jobs_catchup_limit CHECK (catchup_limit >= 1),
    ADD CONSTRAINT cron_jobs_catchup_window CHECK (catchup_window_seconds > 0),
    ADD CONSTRAINT cron_jobs_overlap_policy CHECK (overlap_policy IN ('allow', 'skip', 'queue_one'));
UPDATE cron_jobs SET overlap_policy = 'skip' WHERE allow_overlap = 0;

ALTER TABLE job_executions
    ADD COLUMN cancel_requested_at DATETIME(6) NULL,
    ADD KEY job_executions_finished (finished_at);
