-- The table the sample handlers (functions/worker/jobu_handlers/samples.py) read and write.
CREATE TABLE IF NOT EXISTS sample_items (
    id         BIGINT AUTO_INCREMENT PRIMARY KEY,
    name       VARCHAR(200) NOT NULL,
    value      JSON NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
