-- v_reporting_completeness
-- Grain: one row per department x month with at least one obligation: expected reports
-- (deadline passed), received, on time, late, missing; completeness_pct = received /
-- expected, timeliness_pct = on time / expected (DHIS2's reporting rate and "on time").
CREATE OR REPLACE VIEW analytics.v_reporting_completeness AS
SELECT
    s.department_code,
    s.month_key,
    m.year,
    m.month,
    CAST(SUM(CASE WHEN s.status <> 'not_yet_due' THEN 1 ELSE 0 END) AS INTEGER) AS expected,
    CAST(SUM(CASE WHEN s.status IN ('on_time', 'late') THEN 1 ELSE 0 END) AS INTEGER) AS received,
    CAST(SUM(CASE WHEN s.status = 'on_time' THEN 1 ELSE 0 END) AS INTEGER) AS on_time,
    CAST(SUM(CASE WHEN s.status = 'late' THEN 1 ELSE 0 END) AS INTEGER) AS late,
    CAST(SUM(CASE WHEN s.status = 'missing' THEN 1 ELSE 0 END) AS INTEGER) AS missing,
    CAST(SUM(CASE WHEN s.status = 'not_yet_due' THEN 1 ELSE 0 END) AS INTEGER) AS not_yet_due,
    100.0 * SUM(CASE WHEN s.status IN ('on_time', 'late') THEN 1 ELSE 0 END)
        / NULLIF(SUM(CASE WHEN s.status <> 'not_yet_due' THEN 1 ELSE 0 END), 0) AS completeness_pct,
    100.0 * SUM(CASE WHEN s.status = 'on_time' THEN 1 ELSE 0 END)
        / NULLIF(SUM(CASE WHEN s.status <> 'not_yet_due' THEN 1 ELSE 0 END), 0) AS timeliness_pct,
    MAX(s.deadline_at) AS deadline_at,
    MAX(s.assessed_at) AS assessed_at
FROM dw.fct_reporting_status AS s
JOIN dw.dim_month AS m ON m.month_key = s.month_key
GROUP BY s.department_code, s.month_key, m.year, m.month
