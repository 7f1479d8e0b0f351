-- v_monthly_figure_history
-- Grain: one row per region x indicator x month per version of the computed figures: what the
-- warehouse held from known_from (UTC) until known_until (NULL: still current).
-- What was known at time T:  WHERE known_from <= T AND (known_until IS NULL OR known_until > T)
-- (statwh ... --as-of DATE runs exactly this).
-- Versions in the order they were made: ORDER BY known_from, computed_by_batch_key. The
-- times are to the second, so two batches within one second share one (the earlier
-- version then held for no instant); batch keys follow commit order.
CREATE OR REPLACE VIEW analytics.v_monthly_figure_history AS
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
    m.month_key,
    m.month_start,
    y.year,
    y.month,
    y.value,
    y.status,
    y.ytd_value,
    y.is_ytd_complete,
    y.reported_ytd_value,
    y.value_prev_year,
    y.ytd_value_prev_year,
    y.growth_month_pct,
    y.growth_ytd_pct,
    y.reported_growth_month_pct,
    y.reported_growth_ytd_pct,
    y.computed_by_batch_key,
    y.known_from,
    y.known_until
FROM dw.fct_monthly_ytd AS y
JOIN dw.dim_region AS r ON r.region_key = y.region_key
JOIN dw.dim_indicator AS i ON i.indicator_key = y.indicator_key
JOIN dw.dim_month AS m ON m.month_key = y.month_key
