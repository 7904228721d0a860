-- name: set_trace_parents!
-- Each traced record of a Kafka batch gives its run the record's traceparent (jobu.traces), in the
-- batch's transaction; a redelivered record leaves the first one.
UPDATE job_executions AS e
JOIN JSON_TABLE(:traces, '$[*]' COLUMNS (
    source_topic VARCHAR(249) PATH '$.source_topic', source_partition INT PATH '$.source_partition',
    source_offset BIGINT PATH '$.source_offset', trace_parent VARCHAR(55) PATH '$.trace_parent')) AS t
  ON e.source_topic = t.source_topic AND e.source_partition = t.source_partition
 AND e.source_offset = t.source_offset
SET e.trace_parent = t.trace_parent
WHERE e.trace_parent IS NULL;
