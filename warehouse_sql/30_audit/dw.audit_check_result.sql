-- audit_check_result
-- Grain: one row per batch x suite x rule: the outcome of every check run on a submission
-- file, passed or failed, so data quality can be followed over time.
-- Suites: 'reading' (the file itself: readable, encoding, header, numbers), the Great
-- Expectations suites of expectations/ ('monthly_structure', 'monthly', 'plan_structure',
-- 'plan'), 'revision_policy' and 'statistical_checks' (run while loading, against history).
-- A check that was not reached (the file was refused before it) has no row.
-- Key: (batch_key, suite_name, rule).
CREATE TABLE IF NOT EXISTS dw.audit_check_result (
    batch_key         BIGINT NOT NULL,     -- the batch (file) checked; key of dw.audit_load_batch
    suite_name        VARCHAR NOT NULL,    -- the suite the rule belongs to, e.g. 'monthly' (expectations/monthly.json)
    rule              VARCHAR NOT NULL,    -- the rule id, as stored with each problem in dw.audit_problem
    severity          VARCHAR NOT NULL,    -- what a failure means: 'error' (rejects the file) | 'warning' | 'info'
    success           BOOLEAN NOT NULL,    -- TRUE if the file passed the check
    element_count     BIGINT,              -- rows, header cells or figures checked; NULL when the check has no count
    unexpected_count  BIGINT,              -- how many of them failed the check (0 when it passed)
    recorded_at       TIMESTAMP NOT NULL,  -- UTC, when the batch was recorded
    PRIMARY KEY (batch_key, suite_name, rule)
)
