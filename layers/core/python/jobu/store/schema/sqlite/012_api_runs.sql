-- A run enqueued through the admin API (POST /api/runs) is param_source 'api'. The CHECK gains it in
-- place, as 008 widened the status CHECK (SQLite's documented way for a change that leaves the stored
-- rows as they are).
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, '''manual'', ''backfill''))', '''manual'', ''backfill'', ''api''))')
WHERE type = 'table' AND name = 'job_executions' AND instr(sql, '''api''') = 0;
PRAGMA writable_schema = RESET;
