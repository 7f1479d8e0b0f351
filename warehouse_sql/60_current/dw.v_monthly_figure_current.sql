-- v_monthly_figure_current
-- Grain: one row per region x indicator x month: the latest version of the figure
-- (highest batch_key; batches are numbered in the order they were committed).
CREATE OR REPLACE VIEW dw.v_monthly_figure_current AS
WITH ranked AS (
    SELECT
        f.*,
        ROW_NUMBER() OVER (
            PARTITION BY f.region_key, f.indicator_key, f.month_key
            ORDER BY f.batch_key DESC
        ) AS version_rank
    FROM dw.fct_monthly_figure_version AS f
)
SELECT
    region_key, indicator_key, month_key, batch_key, value, status,
    value_reported, unit_reported, reported_ytd_value, reported_growth_month_pct, reported_growth_ytd_pct,
    department_code, note, recorded_at
FROM ranked
WHERE version_rank = 1
