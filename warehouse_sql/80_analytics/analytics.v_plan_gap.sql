-- v_plan_gap
-- Grain: one row per plan target in force (region x indicator x year), with labels:
-- actual against plan, attainment (đạt x% KH) and the gap.
CREATE OR REPLACE VIEW analytics.v_plan_gap AS
SELECT
    r.region_code,
    r.name_vi            AS region_name_vi,
    r.name_en            AS region_name_en,
    i.indicator_code,
    i.name_vi            AS indicator_name_vi,
    i.name_en            AS indicator_name_en,
    i.kind               AS indicator_kind,
    i.canonical_unit     AS unit,
    g.year,
    g.target_kind,
    g.target_value,
    g.actual,
    g.is_actual_complete,
    g.actual_prev_year,
    g.actual_growth_pct,
    g.planned_level,
    g.attainment_pct,
    g.gap_pp,
    g.gap_level
FROM dw.fct_plan_gap AS g
JOIN dw.dim_region AS r ON r.region_key = g.region_key
JOIN dw.dim_indicator AS i ON i.indicator_key = g.indicator_key
