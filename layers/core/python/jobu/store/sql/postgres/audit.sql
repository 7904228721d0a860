-- jobu's queries on the operator_actions table (the audit trail). PostgreSQL (asyncpg): optional
-- filters are NULL when not given, CAST so asyncpg knows each parameter's type.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: count_operator_actions$
SELECT COUNT(*) FROM operator_actions
WHERE (CAST(:principal AS TEXT) IS NULL OR principal = :principal)
  AND (CAST(:operation AS TEXT) IS NULL OR operation = :operation)
  AND (CAST(:target_kind AS TEXT) IS NULL OR target_kind = :target_kind)
  AND (CAST(:target_id AS TEXT) IS NULL OR target_id = :target_id)
  AND (CAST(:from_date AS TIMESTAMPTZ) IS NULL OR created_at >= :from_date)
  AND (CAST(:to_date AS TIMESTAMPTZ) IS NULL OR created_at <= :to_date);

-- name: page_operator_actions
SELECT * FROM operator_actions
WHERE (CAST(:principal AS TEXT) IS NULL OR principal = :principal)
  AND (CAST(:operation AS TEXT) IS NULL OR operation = :operation)
  AND (CAST(:target_kind AS TEXT) IS NULL OR target_kind = :target_kind)
  AND (CAST(:target_id AS TEXT) IS NULL OR target_id = :target_id)
  AND (CAST(:from_date AS TIMESTAMPTZ) IS NULL OR created_at >= :from_date)
  AND (CAST(:to_date AS TIMESTAMPTZ) IS NULL OR created_at <= :to_date)
ORDER BY id DESC
LIMIT :limit OFFSET :offset;

-- name: delete_old_operator_actions!
-- Retention (AuditRetentionDays): the oldest rows past the cutoff, a bounded batch per statement.
DELETE FROM operator_actions
WHERE id IN (SELECT id FROM operator_actions WHERE created_at < :cutoff ORDER BY created_at LIMIT :limit);
