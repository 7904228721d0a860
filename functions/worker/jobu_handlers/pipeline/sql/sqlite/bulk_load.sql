-- db_loader's fixed queries for SQLite (sqlite3), loaded by name with aiosql.

-- name: table_columns(table_name)
-- The table's columns in order; no rows when the table does not exist.
SELECT name AS column_name, type AS data_type FROM pragma_table_info(:table_name);
