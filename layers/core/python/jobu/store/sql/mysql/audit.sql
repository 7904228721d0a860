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
