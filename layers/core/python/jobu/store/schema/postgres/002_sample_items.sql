-- The table the sample handlers (functions/worker/jobu_handlers/samples.py) read and write.
CREATE TABLE IF NOT EXISTS sample_items (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL,
    value      JSONB,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
