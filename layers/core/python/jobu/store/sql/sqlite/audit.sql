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
DELETE FROM operator_actions
WHERE id IN (SELECT id FROM operator_actions WHERE created_at < :cutoff ORDER BY created_at LIMIT :limit);

-- name: insert_operator_actions!
-- A batch's actions (one per run of POST /api/runs/batch) in one statement, on the connection of
-- the change they record, inside its transaction.
INSERT INTO operator_actions (created_at, principal, operation, target_kind, target_id, request_id,
                              before_state, after_state)
SELECT :now, json_extract(r.value, '$.principal'), json_extract(r.value, '$.operation'),
       json_extract(r.value, '$.target_kind'), json_extract(r.value, '$.target_id'),
       json_extract(r.value, '$.request_id'), json_extract(r.value, '$.before_state'),
       json_extract(r.value, '$.after_state')
FROM json_each(:actions) AS r
ORDER BY r.key;
