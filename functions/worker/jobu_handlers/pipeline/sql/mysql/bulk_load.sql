-- db_loader's fixed queries for MySQL / MariaDB (asyncmy), loaded by name with aiosql.
-- LOAD DATA and the multi-row INSERT name the table and columns, so they are built in code
-- from names checked against table_columns and quoted (bulk_load.py).

-- name: table_columns(schema_name, table_name)
-- The table's columns in order, with its storage engine; no rows when the table does not exist.
SELECT c.COLUMN_NAME AS column_name, c.DATA_TYPE AS data_type, t.ENGINE AS engine
  FROM information_schema.TABLES AS t
  JOIN information_schema.COLUMNS AS c
    ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME
 WHERE t.TABLE_SCHEMA = COALESCE(:schema_name, DATABASE())
   AND t.TABLE_NAME = :table_name
 ORDER BY c.ORDINAL_POSITION;

-- name: strict_session()!
-- Bad values are errors, not warnings turned into zeros and truncated strings.
SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

-- name: utc_session()!
SET SESSION time_zone = '+00:00';

-- name: warning_count()$
-- Warnings of the statement before (LOAD DATA LOCAL reports bad rows as warnings, never errors).
SHOW COUNT(*) WARNINGS;

-- name: first_warning()^
SHOW WARNINGS LIMIT 1;
