-- Statuses and sources the scheduling and admin work need, widened once here:
--   CANCELLED: a run an operator stopped (docs/executions.md);
--   WAITING:   a run held back by its job's overlap policy `queue_one` until the active run ends;
--   param_source 'manual' (run now from the admin API or CLI) and 'backfill' (slots an operator asked for).
-- rejected_events keeps every record the queue dispatcher refused, including records whose Kafka
-- coordinates are themselves broken: those are keyed by a digest of the whole record instead.
-- SQLite cannot change a CHECK constraint in place: both tables are rebuilt (its documented way).
PRAGMA foreign_keys = OFF;
BEGIN;

CREATE TABLE job_executions_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id              INTEGER REFERENCES cron_jobs (id) ON DELETE SET NULL,
    handler_name        TEXT NOT NULL,
    scheduled_time      TEXT,
    status              TEXT NOT NULL DEFAULT 'PENDING'
                        CHECK (status IN ('WAITING', 'PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT',
                                          'CANCELLED')),
    params              TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    param_source        TEXT NOT NULL CHECK (param_source IN ('cron', 'event', 'manual', 'backfill')),
    max_retry           INTEGER NOT NULL DEFAULT 0,
    timeout_seconds     INTEGER NOT NULL,
    retry_count         INTEGER NOT NULL DEFAULT 0,
    available_at        TEXT NOT NULL,
    queued_at           TEXT,
    started_at          TEXT,
    deadline_at         TEXT,
    finished_at         TEXT,
    error_message       TEXT,
    result              TEXT CHECK (result IS NULL OR json_valid(result)),
    source_topic        TEXT,
    source_partition    INTEGER,
    source_offset       INTEGER,
    parent_execution_id INTEGER REFERENCES job_executions (id) ON DELETE SET NULL,
    created_at          TEXT NOT NULL,
    CONSTRAINT job_executions_slot UNIQUE (job_id, scheduled_time),
    CONSTRAINT job_executions_source UNIQUE (source_topic, source_partition, source_offset)
);
INSERT INTO job_executions_new SELECT * FROM job_executions;
DROP TABLE job_executions;
ALTER TABLE job_executions_new RENAME TO job_executions;
CREATE INDEX job_executions_unqueued ON job_executions (available_at)
    WHERE status = 'PENDING' AND queued_at IS NULL;
CREATE INDEX job_executions_running ON job_executions (deadline_at) WHERE status = 'RUNNING';
CREATE INDEX job_executions_job_status ON job_executions (job_id, status);
CREATE INDEX job_executions_handler ON job_executions (handler_name, id);
CREATE INDEX job_executions_status ON job_executions (status, id);

CREATE TABLE rejected_events_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    source_topic     TEXT,
    source_partition INTEGER,
    source_offset    INTEGER,
    -- 'topic:partition:offset' for a record with usable coordinates, else 'sha256:<digest of the record>'
    record_key       TEXT NOT NULL,
    raw_value        TEXT NOT NULL,
    -- how raw_value holds the record's value: 'utf-8' (the text itself), 'base64' (bytes that are not
    -- storable text: invalid UTF-8 or a NUL character), or 'none' (a tombstone: the record had no value)
    raw_encoding     TEXT NOT NULL DEFAULT 'utf-8' CHECK (raw_encoding IN ('utf-8', 'base64', 'none')),
    reason           TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    CONSTRAINT rejected_events_source UNIQUE (source_topic, source_partition, source_offset),
    CONSTRAINT rejected_events_record_key UNIQUE (record_key)
);
INSERT INTO rejected_events_new (id, source_topic, source_partition, source_offset, record_key, raw_value,
                                 raw_encoding, reason, created_at)
SELECT id, source_topic, source_partition, source_offset,
       source_topic || ':' || source_partition || ':' || source_offset, raw_value, 'utf-8', reason, created_at
FROM rejected_events;
DROP TABLE rejected_events;
ALTER TABLE rejected_events_new RENAME TO rejected_events;

PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
