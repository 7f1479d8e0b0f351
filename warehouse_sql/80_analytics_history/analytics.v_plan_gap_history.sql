-- v_plan_gap_history
-- Grain: one row per plan target (region x indicator x year) per version of the computed figures: what the
-- warehouse held from known_from (UTC) until known_until (NULL: still current).
-- What was known at time T:  WHERE known_from <= T AND (known_until IS NULL OR known_until > T)
-- (statwh ... --as-of DATE runs exactly this).
-- Versions in the order they were made: ORDER BY known_from, computed_by_batch_key. The
-- times are to the second, so two batches within one second share one (the earlier
-- version then held for no instant); batch keys follow commit order.
CREATE OR REPLACE VIEW analytics.v_plan_gap_history AS
SELECT
    r.region_code,
    r.name_vi            AS region_name_vi,
    r.name_en            AS region_name_en,
    r.valid_from         AS region_valid_from,  -- a code names another unit after a merger (79 since 2025-07-01)
    r.valid_to           AS region_valid_to,
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
    g.gap_level,
    g.computed_by_batch_key,
    g.known_from,
    g.known_until
FROM dw.fct_plan_gap AS g
JOIN dw.dim_region AS r ON r.region_key = g.region_key
JOIN dw.dim_indicator AS i ON i.indicator_key = g.indicator_key
