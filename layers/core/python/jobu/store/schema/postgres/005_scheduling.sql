-- Scheduling users can trust (docs/scheduling.md):
--   cron_jobs.timezone: the IANA zone the expression is read in (next_run_at stays UTC, indexed);
--   catchup_policy: what a tick does with slots missed while jobu was down or the job paused:
--     'coalesce' one run for the latest, 'skip' none, 'all' each (at most catchup_limit, the
--     most recent, and only those newer than catchup_window_seconds when that is set);
--   overlap_policy: 'allow', 'skip' (no new run while one is active), 'queue_one' (one run waits,
--     WAITING, and starts when the active one ends); replaces allow_overlap, kept in step with it;
--   paused_at / paused_until: a paused job creates no runs until resumed (paused_until NULL: until
--     an operator resumes it); the catch-up policy decides what happens to slots passed meanwhile;
--   job_executions.cancel_requested_at: an operator asked to cancel this RUNNING run;
--   an index on finished_at for the retention sweep.
ALTER TABLE cron_jobs ADD COLUMN IF NOT EXISTS timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE cron_jobs ADD COLUMN IF NOT EXISTS catchup_policy TEXT NOT NULL DEFAULT 'coalesce'
    CHECK (catchup_policy IN ('coalesce', 'skip', 'all'));
ALTER TABLE cron_jobs ADD COLUMN IF NOT EXISTS catchup_limit INTEGER NOT NULL DEFAULT 10 CHECK (catchup_limit >= 1);
ALTER TABLE cron_jobs ADD COLUMN IF NOT EXISTS catchup_window_seconds INTEGER CHECK (catchup_window_seconds > 0);
ALTER TABLE cron_jobs ADD COLUMN IF NOT EXISTS overlap_policy TEXT NOT NULL DEFAULT 'allow'
    CHECK (overlap_policy IN ('allow', 'skip', 'queue_one'));
UPDATE cron_jobs SET overlap_policy = 'skip' WHERE NOT allow_overlap;
ALTER TABLE cron_jobs ADD COLUMN IF NOT EXISTS paused_at TIMESTAMPTZ;
ALTER TABLE cron_jobs ADD COLUMN IF NOT EXISTS paused_until TIMESTAMPTZ;

ALTER TABLE job_executions ADD COLUMN IF NOT EXISTS cancel_requested_at TIMESTAMPTZ;
CREATE INDEX IF NOT EXISTS job_executions_finished ON job_executions (finished_at)
    WHERE status IN ('SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED');
