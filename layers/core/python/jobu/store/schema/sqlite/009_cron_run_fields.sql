-- What a cron job's runs carry (docs/scheduling.md): its priority, TTL (each run it makes expires
-- ttl_seconds after it is made), tags and concurrency key; the tick, backfill and run now copy them.
ALTER TABLE cron_jobs ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal'
    CHECK (priority IN ('high', 'normal', 'low'));
ALTER TABLE cron_jobs ADD COLUMN ttl_seconds INTEGER CHECK (ttl_seconds > 0);
ALTER TABLE cron_jobs ADD COLUMN tags TEXT CHECK (tags IS NULL OR json_valid(tags));
ALTER TABLE cron_jobs ADD COLUMN concurrency_key TEXT;
