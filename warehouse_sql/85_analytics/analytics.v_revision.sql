-- v_revision
-- Grain: one row per region x indicator x month that has at least one version: its first
-- report against its latest, with labels. revision = latest - first (canonical unit);
-- revision_pct relative to the first. The department is the one that first reported it.
CREATE OR REPLACE VIEW analytics.v_revision AS
WITH ranked AS (
    SELECT
        f.*,
        ROW_NUMBER() OVER (PARTITION BY f.region_key, f.indicator_key, f.month_key ORDER BY f.batch_key) AS first_rank,
        ROW_NUMBER() OVER (PARTITION BY f.region_key, f.indicator_key, f.month_key ORDER BY f.batch_key DESC) AS last_rank,
        COUNT(*) OVER (PARTITION BY f.region_key, f.indicator_key, f.month_key) AS version_count
    FROM dw.fct_monthly_figure_version AS f
),
first_and_latest AS (
    SELECT
        first.region_key, first.indicator_key, first.month_key,
        first.department_code,
        first.status AS first_status, first.value AS first_value, first.recorded_at AS first_recorded_at,
        latest.status AS latest_status, latest.value AS latest_value, latest.recorded_at AS latest_recorded_at,
        CAST(first.version_count AS INTEGER) AS version_count
    FROM ranked AS first
    JOIN ranked AS latest
      ON latest.region_key = first.region_key AND latest.indicator_key = first.indicator_key
     AND latest.month_key = first.month_key AND latest.last_rank = 1
    WHERE first.first_rank = 1
)
SELECT
    r.region_code,
    r.name_vi AS region_name_vi,
    i.indicator_code,
    i.name_vi AS indicator_name_vi,
    i.name_en AS indicator_name_en,
    i.canonical_unit AS unit,
    m.month_key,
    m.year,
    m.month,
    x.department_code,
    x.version_count,
    x.first_status,
    x.first_value,
    x.first_recorded_at,
    x.latest_status,
    x.latest_value,
    x.latest_recorded_at,
    x.latest_value - x.first_value AS revision,
    (x.latest_value - x.first_value) / NULLIF(ABS(x.first_value), 0) * 100 AS revision_pct
FROM first_and_latest AS x
JOIN dw.dim_region AS r ON r.region_key = x.region_key
JOIN dw.dim_indicator AS i ON i.indicator_key = x.indicator_key
JOIN dw.dim_month AS m ON m.month_key = x.month_key
