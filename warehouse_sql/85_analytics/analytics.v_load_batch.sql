-- v_load_batch
-- Grain: one row per submission file processed, with its problem count: what was
-- loaded, what was rejected and where the file was kept.
CREATE OR REPLACE VIEW analytics.v_load_batch AS
SELECT
    b.batch_key,
    b.file_name,
    b.file_sha256,
    b.submission_kind,
    b.reading_options,  -- how the sender asked for it to be read: a rejected file read again another way
    b.status,
    b.rows_in_file,
    b.rows_new_version,
    b.rows_unchanged,
    b.problem_count,
    b.archived_path,
    b.pipeline_run_id,
    b.recorded_at
FROM dw.audit_load_batch AS b
