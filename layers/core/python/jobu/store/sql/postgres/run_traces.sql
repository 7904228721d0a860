-- name: set_trace_parents!
-- Each traced record of a Kafka batch gives its run the record's traceparent (jobu.traces), in the
-- batch's transaction; a redelivered record leaves the first one.
UPDATE job_executions AS e SET trace_parent = t.trace_parent
FROM jsonb_to_recordset(CAST(:traces AS JSONB)) AS t (
    source_topic TEXT, source_partition INTEGER, source_offset BIGINT, trace_parent TEXT)
WHERE e.source_topic = t.source_topic AND e.source_partition = t.source_partition
  AND e.source_offset = t.source_offset AND e.trace_parent IS NULL;
