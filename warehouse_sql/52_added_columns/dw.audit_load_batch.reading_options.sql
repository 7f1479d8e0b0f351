-- dw.audit_load_batch.reading_options: a column added to a warehouse created before it existed
-- Grain: unchanged (see 30_audit/dw.audit_load_batch.sql, whose CREATE TABLE has the column and describes it).
-- Why: CREATE TABLE IF NOT EXISTS leaves an existing table as it is, so `statwh init` on an
-- older warehouse adds the column here (NULL in the rows already there: read with no options);
-- on a new warehouse it is already there and this does nothing. The same upgrade also drops
-- the old uniqueness of file_sha256, which SQL alone cannot do on DuckDB
-- (etl.warehouse._reshape_load_batch_table).
ALTER TABLE dw.audit_load_batch ADD COLUMN IF NOT EXISTS reading_options VARCHAR
