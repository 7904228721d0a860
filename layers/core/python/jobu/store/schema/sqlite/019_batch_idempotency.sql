-- A batch's idempotency key (POST /api/batches, jobu.operations.batches): a client that retries the
-- request gets the batch the key made, not a second one. The key is claimed in idempotency_keys
-- like a run's (the primary key decides between two requests at once), under the handler name ''
-- that no run has; this column finds the batch that holds it.
ALTER TABLE batches ADD COLUMN idempotency_key TEXT;
CREATE INDEX IF NOT EXISTS batches_idempotency ON batches (idempotency_key) WHERE idempotency_key IS NOT NULL;
