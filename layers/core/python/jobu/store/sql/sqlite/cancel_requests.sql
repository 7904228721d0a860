-- jobu's queries on SQLite's cancel requests, kept in a file of their own beside the database
-- (<database>-cancel-requests, on its own connection): a transactional handler holds the database's
-- one write lock for as long as it runs, and an operator's cancel of that very run must get through.
-- A request is for one attempt of a run (its retry_count and started_at then): a later attempt is not
-- cancelled, nor a run of a database made afresh under the same path (its ids start again).
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: create_cancel_requests#
CREATE TABLE IF NOT EXISTS cancel_requests (
    execution_id INTEGER NOT NULL,
    attempt      INTEGER NOT NULL,
    started_at   TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    PRIMARY KEY (execution_id, attempt, started_at)
);

-- name: add_cancel_request!
INSERT INTO cancel_requests (execution_id, attempt, started_at, requested_at)
VALUES (:execution_id, :attempt, :started_at, :now)
ON CONFLICT (execution_id, attempt, started_at) DO NOTHING;

-- name: cancel_request$
SELECT requested_at FROM cancel_requests
WHERE execution_id = :execution_id AND attempt = :attempt AND started_at = :started_at;
