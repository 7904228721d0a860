-- A rate limit kept on the runs' starts, not only on their hand-overs (jobu.store.limits, take_start;
-- docs/executions.md "Limits"): started_next_at is the generic cell rate algorithm's next due time of
-- the handler's actual starts (the worker's claims). A run handed over for its time may still reach a
-- worker late, with others (a database restart, killed workers, redeliveries): a claim that the rate
-- does not allow yet puts the run back for a later time instead of starting it.
ALTER TABLE handler_limits ADD COLUMN IF NOT EXISTS started_next_at TIMESTAMPTZ;
