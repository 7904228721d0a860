-- bench/cron_tick.py: the seed's tick, a transaction per due job (its statements as the seed had them).

-- name: seed_advance_cron_job!
UPDATE cron_jobs SET next_run_at = :next_run_at, updated_at = :now WHERE id = :id;
