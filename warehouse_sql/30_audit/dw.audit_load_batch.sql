-- audit_load_batch
-- Grain: one row per reading of a submission file (loaded or rejected). A file whose
-- checksum is here as loaded, or as rejected when read with the same reading_options, is not
-- processed again, which makes ingest idempotent; bytes rejected earlier are read again with
-- other options (--number-format, --encoding), which may change the outcome. At most one
-- batch per checksum is loaded (checked inside the turn to write; on PostgreSQL also by
-- dw.ux_audit_load_batch_loaded_file).
-- Key: batch_key (surrogate, the lineage key on every fact row it wrote).
CREATE TABLE IF NOT EXISTS dw.audit_load_batch (
    batch_key           BIGINT PRIMARY KEY,
    file_name           VARCHAR NOT NULL,
    file_sha256         VARCHAR NOT NULL,   -- checksum of the file's bytes
    submission_kind     VARCHAR,            -- 'monthly' | 'plan'; NULL if unreadable
    sheet_name          VARCHAR,            -- XLSX sheet read
    number_convention   VARCHAR,            -- 'vi' | 'en' as declared or detected
    reading_options     VARCHAR,            -- as the caller asked: 'number_format=vi; encoding=cp1252'; NULL: none
    status              VARCHAR NOT NULL,   -- 'loaded' | 'rejected'
    rows_in_file        INTEGER NOT NULL,
    rows_new_version    INTEGER NOT NULL,   -- figures that were new or changed
    rows_unchanged      INTEGER NOT NULL,   -- figures equal to what the warehouse had
    problem_count       INTEGER NOT NULL,
    archived_path       VARCHAR,            -- where the file was kept (archive or quarantine)
    pipeline_run_id     VARCHAR,            -- Airflow run id, or 'cli'
    landing_position    INTEGER,            -- the file's place in its DAG run's landing-folder listing (0: first name); files of one run count in this order, whichever is written first; NULL outside a DAG run
    recorded_at         TIMESTAMP NOT NULL  -- UTC, when the batch was committed
)
