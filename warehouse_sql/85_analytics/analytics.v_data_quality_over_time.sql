-- v_data_quality_over_time
-- Grain: one row per month of recorded_at x suite x rule: how many batches (submission
-- files) the check ran on, how many failed it, and how many rows failed it, so an analyst
-- can follow data quality month by month. Months are those the warehouse recorded the
-- batches in (UTC), not the periods the figures are for.
CREATE OR REPLACE VIEW analytics.v_data_quality_over_time AS
SELECT
    CAST(EXTRACT(YEAR FROM c.recorded_at) * 100 + EXTRACT(MONTH FROM c.recorded_at) AS INTEGER) AS recorded_month_key,  -- month the batches were recorded in, as YYYYMM (UTC)
    c.suite_name,
    c.rule,
    -- ranked, not MAX(text), which puts 'warning' above 'error'
    CASE MAX(CASE c.severity WHEN 'error' THEN 3 WHEN 'warning' THEN 2 ELSE 1 END)
        WHEN 3 THEN 'error' WHEN 2 THEN 'warning' ELSE 'info' END AS severity,  -- what a failure of the rule meant: 'error' | 'warning' | 'info'; the most severe if a steward changed it that month
    CAST(COUNT(*) AS INTEGER) AS batches_checked,  -- batches (files) the check ran on that month
    CAST(SUM(CASE WHEN c.success THEN 0 ELSE 1 END) AS INTEGER) AS batches_failing,  -- of them, batches that failed it
    CAST(SUM(CASE WHEN c.success THEN 0 ELSE 1 END) AS DOUBLE PRECISION) / COUNT(*) * 100 AS batches_failing_pct,  -- batches_failing / batches_checked x 100
    CAST(SUM(COALESCE(c.unexpected_count, CASE WHEN c.success THEN 0 ELSE 1 END)) AS BIGINT) AS rows_failing,  -- rows (cells, figures) that failed it, summed over the batches
    CAST(SUM(c.element_count) AS BIGINT) AS rows_checked,  -- rows (cells, figures) checked, summed over the batches
    CAST(SUM(CASE WHEN b.status = 'rejected' THEN 1 ELSE 0 END) AS INTEGER) AS batches_rejected,  -- batches checked that were rejected (for this or another rule)
    MIN(c.recorded_at) AS first_recorded_at,  -- first batch of the month checked (UTC)
    MAX(c.recorded_at) AS last_recorded_at  -- last batch of the month checked (UTC)
FROM dw.audit_check_result AS c
JOIN dw.audit_load_batch AS b ON b.batch_key = c.batch_key
GROUP BY CAST(EXTRACT(YEAR FROM c.recorded_at) * 100 + EXTRACT(MONTH FROM c.recorded_at) AS INTEGER), c.suite_name, c.rule
