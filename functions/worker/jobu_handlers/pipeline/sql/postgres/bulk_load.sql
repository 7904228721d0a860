-- db_loader's fixed queries for PostgreSQL (asyncpg), loaded by name with aiosql.
-- The COPY itself is asyncpg's copy_to_table, which quotes the table and column names.

-- name: table_columns(schema_name, table_name)
-- The table's columns in order; no rows when the table does not exist (or is not visible).
-- udt_* name the column's type (a domain's base type), which chooses binary COPY or CSV.
SELECT CAST(column_name AS TEXT) AS column_name, CAST(data_type AS TEXT) AS data_type,
       CAST(udt_schema AS TEXT) AS type_schema, CAST(udt_name AS TEXT) AS type_name
  FROM information_schema.columns
 WHERE table_schema = COALESCE(CAST(:schema_name AS TEXT), current_schema())
   AND table_name = CAST(:table_name AS TEXT)
 ORDER BY ordinal_position;
