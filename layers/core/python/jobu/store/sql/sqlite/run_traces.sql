-- name: set_trace_parents!
-- Each traced record of a Kafka batch gives its run the record's traceparent (jobu.traces), in the
-- batch's transaction; a redelivered record leaves the first one.
UPDATE job_executions SET trace_parent = json_extract(t.value, '$.trace_parent')
FROM json_each(:traces) AS t
WHERE job_executions.source_topic = json_extract(t.value, '$.source_topic')
  AND job_executions.source_partition = json_extract(t.value, '$.source_partition')
  AND job_executions.source_offset = json_extract(t.value, '$.source_offset')
  AND job_executions.trace_parent IS NULL;
