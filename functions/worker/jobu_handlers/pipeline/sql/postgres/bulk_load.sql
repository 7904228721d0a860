-- db_loader's fixed queries for PostgreSQL (asyncpg), loaded by name with aiosql.
-- The COPY itself is asyncpg's copy_to_table, which quotes the table and column names.

-- name: table_columns(schema_name, table_name)
-- The table's columns in order; no rows when the table does not exist (or is not visible).
SELECT CAST(column_name AS TEXT) AS column_name, CAST(data_type AS TEXT) AS data_type
  FROM information_schema.columns
 WHERE table_schema = COALESCE(CAST(:schema_name AS TEXT), current_schema())
   AND table_name = CAST(:table_name AS TEXT)
 ORDER BY ordinal_position;
