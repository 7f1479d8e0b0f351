-- calc_plan_gap
-- Grain: one row per plan target in force (region x indicator x year) for the keys in
-- staging.stg_touched_key (the batch in this transaction; empty outside a batch). It
-- defines dw.fct_plan_gap and reads the current rows of dw.fct_annual_rollup, so a batch
-- refreshes the annual rollup first.
CREATE OR REPLACE VIEW dw.calc_plan_gap AS
WITH touched AS (
    SELECT DISTINCT region_key, indicator_key, year FROM staging.stg_touched_key
),
targets AS (
    SELECT t.region_key, t.indicator_key, t.year, t.target_kind, t.target_value, i.kind
    FROM dw.v_plan_target_current AS t
    JOIN touched AS k
      ON k.region_key = t.region_key AND k.indicator_key = t.indicator_key AND k.year = t.year
    JOIN dw.dim_indicator AS i ON i.indicator_key = t.indicator_key
),
annual AS (
    SELECT * FROM dw.fct_annual_rollup WHERE known_until IS NULL
),
joined AS (
    SELECT
        targets.*,
        actual.annual_value AS actual,
        -- A monthly index (year_rule 'none') is complete with no annual value: actual stays
        -- NULL, so it gets no attainment, growth or gap, only the months-are-all-in flag.
        COALESCE(actual.is_complete, FALSE) AS is_actual_complete,
        -- The year's own row knows last year's value, over a merged unit's territory too (new
        -- Hồ Chí Minh City's 2025 base is its predecessors' 2024); before the year has
        -- figures, last year's row is the base.
        COALESCE(actual.annual_value_prev_year, previous.annual_value) AS actual_prev_year,
        actual.growth_pct AS actual_growth_pct
    FROM targets
    LEFT JOIN annual AS actual
        ON actual.region_key = targets.region_key
       AND actual.indicator_key = targets.indicator_key
       AND actual.year = targets.year
    LEFT JOIN annual AS previous
        ON previous.region_key = targets.region_key
       AND previous.indicator_key = targets.indicator_key
       AND previous.year = targets.year - 1
),
planned AS (
    SELECT
        joined.*,
        CASE
            WHEN target_kind = 'level' THEN target_value
            WHEN kind = 'index' THEN 100 + target_value
            ELSE actual_prev_year * (1 + target_value / 100)
        END AS planned_level
    FROM joined
)
SELECT
    region_key,
    indicator_key,
    year,
    target_kind,
    target_value,
    actual,
    is_actual_complete,
    actual_prev_year,
    actual_growth_pct,
    planned_level,
    actual / NULLIF(planned_level, 0) * 100 AS attainment_pct,
    CASE WHEN target_kind = 'growth_pct' THEN actual_growth_pct - target_value END AS gap_pp,
    actual - planned_level AS gap_level
FROM planned
