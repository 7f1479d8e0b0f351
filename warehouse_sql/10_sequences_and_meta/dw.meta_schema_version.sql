-- meta_schema_version
-- Grain: one row per schema version applied (the checksum of every file in warehouse_sql/).
-- `statwh init` and the pipeline skip the DDL when the newest row matches the files, so a
-- role without DDL rights (statwh_loader) can run the pipeline once the owner has run init.
CREATE TABLE IF NOT EXISTS dw.meta_schema_version (
    ddl_sha256   VARCHAR PRIMARY KEY,
    file_count   INTEGER NOT NULL,
    applied_at   TIMESTAMP NOT NULL   -- UTC
)
