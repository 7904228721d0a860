-- bench/soak.py: the effects table of the soak's transactional handler. No unique key on purpose:
-- an effect written twice for one run must show up as two rows.

-- name: create_soak_effects#
CREATE TABLE IF NOT EXISTS soak_effects (
    id           BIGINT AUTO_INCREMENT PRIMARY KEY,
    execution_id BIGINT NOT NULL,
    attempt      INT NOT NULL
) ENGINE = InnoDB;
