-- v_revision_summary
-- Grain: one row per indicator x department x year: how much first reports were revised.
-- mean_abs_revision_pct = mean |latest - first| / |first| x 100 over revised figures;
-- bias_pct = mean (latest - first) / |first| x 100 (positive: first reports too low).
-- Only figures reported more than once count as revisable (a revised figure may end unchanged).
CREATE OR REPLACE VIEW analytics.v_revision_summary AS
SELECT
    indicator_code,
    indicator_name_vi,
    indicator_name_en,
    department_code,
    year,
    CAST(COUNT(*) AS INTEGER) AS figures_reported_again,
    CAST(SUM(CASE WHEN revision <> 0 THEN 1 ELSE 0 END) AS INTEGER) AS figures_changed,
    AVG(ABS(revision_pct)) AS mean_abs_revision_pct,
    AVG(revision_pct) AS bias_pct,
    MAX(ABS(revision_pct)) AS max_abs_revision_pct
FROM analytics.v_revision
WHERE version_count > 1
GROUP BY indicator_code, indicator_name_vi, indicator_name_en, department_code, year
