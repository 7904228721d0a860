-- Statuses and sources the scheduling and admin work need, widened once here:
--   CANCELLED: a run an operator stopped (docs/executions.md);
--   WAITING:   a run held back by its job's overlap policy `queue_one` until the active run ends;
--   param_source 'manual' (run now from the admin API or CLI) and 'backfill' (slots an operator asked for).
-- rejected_events keeps every record the queue dispatcher refused, including records whose Kafka
-- coordinates are themselves broken: those are keyed by a digest of the whole record instead.
ALTER TABLE job_executions DROP CONSTRAINT IF EXISTS job_executions_status_check;
ALTER TABLE job_executions ADD CONSTRAINT job_executions_status_check
    CHECK (status IN ('WAITING', 'PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED'));
ALTER TABLE job_executions DROP CONSTRAINT IF EXISTS job_executions_param_source_check;
ALTER TABLE job_executions ADD CONSTRAINT job_executions_param_source_check
    CHECK (param_source IN ('cron', 'event', 'manual', 'backfill'));

ALTER TABLE rejected_events ALTER COLUMN source_topic DROP NOT NULL;
ALTER TABLE rejected_events ALTER COLUMN source_partition DROP NOT NULL;
ALTER TABLE rejected_events ALTER COLUMN source_offset DROP NOT NULL;
-- 'topic:partition:offset' for a record with usable coordinates, else 'sha256:<digest of the record>'
ALTER TABLE rejected_events ADD COLUMN IF NOT EXISTS record_key TEXT;
UPDATE rejected_events SET record_key = source_topic || ':' || source_partition || ':' || source_offset
WHERE record_key IS NULL;
ALTER TABLE rejected_events ALTER COLUMN record_key SET NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS rejected_events_record_key ON rejected_events (record_key);
-- how raw_value holds the record's value: 'utf-8' (the text itself), 'base64' (bytes that are not
-- storable text: invalid UTF-8 or a NUL character), or 'none' (a tombstone: the record had no value)
ALTER TABLE rejected_events ADD COLUMN IF NOT EXISTS raw_encoding TEXT NOT NULL DEFAULT 'utf-8'
    CHECK (raw_encoding IN ('utf-8', 'base64', 'none'));
