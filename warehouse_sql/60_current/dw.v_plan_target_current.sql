-- v_plan_target_current
-- Grain: one row per region x indicator x year: the latest version of the plan target.
CREATE OR REPLACE VIEW dw.v_plan_target_current AS
WITH ranked AS (
    SELECT
        t.*,
        ROW_NUMBER() OVER (
            PARTITION BY t.region_key, t.indicator_key, t.year
            ORDER BY t.batch_key DESC
        ) AS version_rank
    FROM dw.fct_plan_target_version AS t
)
SELECT
    region_key, indicator_key, year, batch_key, target_kind, target_value,
    target_value_reported, unit_reported, note, recorded_at
FROM ranked
WHERE version_rank = 1
