-- The table the sample handlers (functions/worker/jobu_handlers/samples.py) read and write.
CREATE TABLE IF NOT EXISTS sample_items (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    value      TEXT CHECK (value IS NULL OR json_valid(value)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
