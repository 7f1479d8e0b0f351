-- ux_audit_load_batch_loaded_file (PostgreSQL only)
-- Grain: one entry per loaded batch of dw.audit_load_batch, by file_sha256, unique: the same
-- bytes are loaded at most once, while a file rejected earlier may be read again with other
-- reading options (each reading its own rejected batch). DuckDB has no partial indexes; there
-- the check inside the turn to write (etl.pipeline._begin_batch) is the guard, and DuckDB
-- takes one writer at a time anyway.
CREATE UNIQUE INDEX IF NOT EXISTS ux_audit_load_batch_loaded_file ON dw.audit_load_batch (file_sha256)
    WHERE status = 'loaded'
