-- jobu's queries on the operator_actions table: the audit trail of operator actions.
-- Written the same way for every backend; the dialect's file of the same name holds the rest.
-- Loaded by name with aiosql (jobu.store.connector); parameters always bound.

-- name: insert_operator_action!
-- Always on the connection of the change it records, inside that change's transaction.
INSERT INTO operator_actions (created_at, principal, operation, target_kind, target_id, request_id,
                              before_state, after_state)
VALUES (:now, :principal, :operation, :target_kind, :target_id, :request_id, :before_state, :after_state);

-- name: get_operator_action^
SELECT * FROM operator_actions WHERE id = :id;
