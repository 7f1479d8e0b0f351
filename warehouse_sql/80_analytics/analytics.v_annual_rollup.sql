-- v_annual_rollup
-- Grain: one row per region x indicator x year, with labels. annual_value is NULL
-- when the year lacks months its rule needs (is_complete = false).
CREATE OR REPLACE VIEW analytics.v_annual_rollup AS
SELECT
    r.region_code,
    r.name_vi            AS region_name_vi,
    r.name_en            AS region_name_en,
    i.indicator_code,
    i.name_vi            AS indicator_name_vi,
    i.name_en            AS indicator_name_en,
    i.kind               AS indicator_kind,
    i.canonical_unit     AS unit,
    a.year,
    a.year_rule,
    a.months_reported,
    a.is_complete,
    a.annual_value,
    a.partial_value,
    a.annual_value_prev_year,
    a.growth_pct
FROM dw.fct_annual_rollup AS a
JOIN dw.dim_region AS r ON r.region_key = a.region_key
JOIN dw.dim_indicator AS i ON i.indicator_key = a.indicator_key
