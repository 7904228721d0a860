-- jobu's queries on the operator_actions table (the audit trail); optional filters are NULL when
-- not given. Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: count_operator_actions$
SELECT COUNT(*) FROM operator_actions
WHERE (:principal IS NULL OR principal = :principal)
  AND (:operation IS NULL OR operation = :operation)
  AND (:target_kind IS NULL OR target_kind = :target_kind)
  AND (:target_id IS NULL OR target_id = :target_id)
  AND (:from_date IS NULL OR created_at >= :from_date)
  AND (:to_date IS NULL OR created_at <= :to_date);

-- name: page_operator_actions
SELECT * FROM operator_actions
WHERE (:principal IS NULL OR principal = :principal)
  AND (:operation IS NULL OR operation = :operation)
  AND (:target_kind IS NULL OR target_kind = :target_kind)
  AND (:target_id IS NULL OR target_id = :target_id)
  AND (:from_date IS NULL OR created_at >= :from_date)
  AND (:to_date IS NULL OR created_at <= :to_date)
ORDER BY id DESC
LIMIT :limit OFFSET :offset;

-- name: delete_old_operator_actions!
-- Retention (AuditRetentionDays): the oldest rows past the cutoff, a bounded batch per statement.
DELETE FROM operator_actions WHERE created_at < :cutoff ORDER BY created_at LIMIT :limit;

-- name: insert_operator_actions!
-- A batch's actions (one per run of POST /api/runs/batch) in one statement, on the connection of
-- the change they record, inside its transaction.
INSERT INTO operator_actions (created_at, principal, operation, target_kind, target_id, request_id,
                              before_state, after_state)
SELECT :now, r.principal, r.operation, r.target_kind, r.target_id, r.request_id, r.before_state, r.after_state
FROM JSON_TABLE(:actions, '$[*]' COLUMNS (
    position FOR ORDINALITY, principal VARCHAR(2048) PATH '$.principal', operation VARCHAR(64) PATH '$.operation',
    target_kind VARCHAR(32) PATH '$.target_kind', target_id VARCHAR(255) PATH '$.target_id',
    request_id VARCHAR(255) PATH '$.request_id', before_state JSON PATH '$.before_state',
    after_state JSON PATH '$.after_state')) AS r
ORDER BY r.position;
