-- The W3C traceparent of the Kafka record a run came from (jobu.traces), validated before it is
-- stored: the worker continues that trace. NULL when the record carried none (or a malformed one).
ALTER TABLE job_executions ADD COLUMN trace_parent VARCHAR(55) CHARACTER SET ascii NULL;
