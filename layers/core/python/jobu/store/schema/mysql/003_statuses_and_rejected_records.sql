-- Statuses and sources the scheduling and admin work need, widened once here:
--   CANCELLED: a run an operator stopped (docs/executions.md);
--   WAITING:   a run held back by its job's overlap policy `queue_one` until the active run ends;
--   param_source 'manual' (run now from the admin API or CLI) and 'backfill' (slots an operator asked for).
-- rejected_events keeps every record the queue dispatcher refused, including records whose Kafka
-- coordinates are themselves broken: those are keyed by a digest of the whole record instead.
-- MySQL names an inline CHECK `<table>_chk_N` and MariaDB after its column, so no single ALTER drops
-- it on both: job_executions is rebuilt with the new checks instead (ids and links kept).
CREATE TABLE job_executions_new (
    id                  BIGINT AUTO_INCREMENT PRIMARY KEY,
    job_id              BIGINT NULL,
    handler_name        VARCHAR(200) NOT NULL,
    scheduled_time      DATETIME(6) NULL,
    status              VARCHAR(16) NOT NULL DEFAULT 'PENDING',
    params              JSON NOT NULL,
    param_source        VARCHAR(16) NOT NULL,
    max_retry           INT NOT NULL DEFAULT 0,
    timeout_seconds     INT NOT NULL,
    retry_count         INT NOT NULL DEFAULT 0,
    available_at        DATETIME(6) NOT NULL,
    queued_at           DATETIME(6) NULL,
    started_at          DATETIME(6) NULL,
    deadline_at         DATETIME(6) NULL,
    finished_at         DATETIME(6) NULL,
    error_message       TEXT NULL,
    result              JSON NULL,
    source_topic        VARCHAR(249) NULL,
    source_partition    INT NULL,
    source_offset       BIGINT NULL,
    parent_execution_id BIGINT NULL,
    created_at          DATETIME(6) NOT NULL,
    UNIQUE KEY job_executions_slot (job_id, scheduled_time),
    UNIQUE KEY job_executions_source (source_topic, source_partition, source_offset),
    KEY job_executions_unqueued (status, queued_at, available_at),
    KEY job_executions_running (status, deadline_at),
    KEY job_executions_job_status (job_id, status),
    KEY job_executions_handler (handler_name, id),
    KEY job_executions_status (status, id),
    KEY job_executions_parent (parent_execution_id),
    CONSTRAINT job_executions_status_check
        CHECK (status IN ('WAITING', 'PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'TIMEOUT', 'CANCELLED')),
    CONSTRAINT job_executions_param_source_check
        CHECK (param_source IN ('cron', 'event', 'manual', 'backfill'))
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
INSERT INTO job_executions_new SELECT * FROM job_executions ORDER BY id;
DROP TABLE job_executions;
RENAME TABLE job_executions_new TO job_executions;
ALTER TABLE job_executions
    ADD CONSTRAINT job_executions_job FOREIGN KEY (job_id) REFERENCES cron_jobs (id) ON DELETE SET NULL,
    ADD CONSTRAINT job_executions_parent FOREIGN KEY (parent_execution_id)
        REFERENCES job_executions (id) ON DELETE SET NULL;

ALTER TABLE rejected_events
    MODIFY source_topic VARCHAR(249) NULL,
    MODIFY source_partition INT NULL,
    MODIFY source_offset BIGINT NULL,
    -- 'topic:partition:offset' for a record with usable coordinates, else 'sha256:<digest of the record>'
    ADD COLUMN record_key VARCHAR(400) NULL AFTER source_offset,
    -- how raw_value holds the record's value: 'utf-8' (the text itself), 'base64' (bytes that are not
    -- storable text: invalid UTF-8 or a NUL character), or 'none' (a tombstone: the record had no value)
    ADD COLUMN raw_encoding VARCHAR(8) NOT NULL DEFAULT 'utf-8' AFTER raw_value,
    ADD CONSTRAINT rejected_events_raw_encoding CHECK (raw_encoding IN ('utf-8', 'base64', 'none'));
UPDATE rejected_events SET record_key = CONCAT(source_topic, ':', source_partition, ':', source_offset)
WHERE record_key IS NULL;
ALTER TABLE rejected_events
    MODIFY record_key VARCHAR(400) NOT NULL,
    ADD UNIQUE KEY rejected_events_record_key (record_key);
