-- What a cron job's runs carry (docs/scheduling.md): its priority, TTL (each run it makes expires
-- ttl_seconds after it is made), tags and concurrency key; the tick, backfill and run now copy them.
ALTER TABLE cron_jobs
    ADD COLUMN priority VARCHAR(8) NOT NULL DEFAULT 'normal',
    ADD COLUMN ttl_seconds INT NULL,
    ADD COLUMN tags JSON NULL,
    ADD COLUMN concurrency_key VARCHAR(200) NULL,
    ADD CONSTRAINT cron_jobs_priority CHECK (priority IN ('high', 'normal', 'low')),
    ADD CONSTRAINT cron_jobs_ttl_seconds CHECK (ttl_seconds > 0);
