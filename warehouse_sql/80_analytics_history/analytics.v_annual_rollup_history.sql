-- v_annual_rollup_history
-- Grain: one row per region x indicator x year per version of the computed figures: what the
-- warehouse held from known_from (UTC) until known_until (NULL: still current).
-- What was known at time T:  WHERE known_from <= T AND (known_until IS NULL OR known_until > T)
-- (statwh ... --as-of DATE runs exactly this).
-- Versions in the order they were made: ORDER BY known_from, computed_by_batch_key. The
-- times are to the second, so two batches within one second share one (the earlier
-- version then held for no instant); batch keys follow commit order.
CREATE OR REPLACE VIEW analytics.v_annual_rollup_history AS
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
    a.year,
    a.year_rule,
    a.months_reported,
    a.months_from_predecessors,  -- months before a merged unit came into force: its predecessors' combined
    a.is_complete,
    a.annual_value,
    a.annual_source,
    a.partial_value,
    a.reported_december_ytd,
    a.implied_revision,
    a.implied_revision_pct,
    a.annual_value_prev_year,
    a.growth_pct,
    a.reported_growth_pct,
    a.computed_by_batch_key,
    a.known_from,
    a.known_until
FROM dw.fct_annual_rollup AS a
JOIN dw.dim_region AS r ON r.region_key = a.region_key
JOIN dw.dim_indicator AS i ON i.indicator_key = a.indicator_key
