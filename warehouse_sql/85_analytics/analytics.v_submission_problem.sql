-- v_submission_problem
-- Grain: one row per problem found in a submission (rejection reason or warning),
-- with the file it was found in.
CREATE OR REPLACE VIEW analytics.v_submission_problem AS
SELECT
    b.file_name,
    b.status AS batch_status,
    p.batch_key,
    p.problem_seq,
    p.sheet_name,
    p.source_row,
    p.column_name,
    p.value_text,
    p.rule,
    p.severity,
    p.message,
    b.recorded_at
FROM dw.audit_problem AS p
JOIN dw.audit_load_batch AS b ON b.batch_key = p.batch_key
