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

-- name: insert_operator_actions!
-- A batch's actions (one per run of POST /api/runs/batch) in one statement, on the connection of
-- the change they record, inside its transaction.
INSERT INTO operator_actions (created_at, principal, operation, target_kind, target_id, request_id,
                              before_state, after_state)
SELECT CAST(:now AS TIMESTAMPTZ), r.value ->> 'principal', r.value ->> 'operation', r.value ->> 'target_kind',
       r.value ->> 'target_id', r.value ->> 'request_id', r.value -> 'before_state', r.value -> 'after_state'
FROM jsonb_array_elements(CAST(:actions AS JSONB)) WITH ORDINALITY AS r (value, position)
ORDER BY r.position;
