-- stg_territory_figure
-- Grain: one row per row of dw.calc_territory_figure for the batch being loaded: region x
-- indicator x month of its touched years and the year before each, over each unit's territory.
-- Written once per batch by etl.warehouse.refresh_rollups and read by dw.calc_monthly_ytd and
-- dw.calc_annual_rollup, which would otherwise each compute the territory view again (the
-- versions' latest-version ranking and the merged units' sums: two thirds of each calc view's
-- time at 1,000,000 figures). Emptied in the same transaction. Key: (batch_key, region_key,
-- indicator_key, month_key).
CREATE TABLE IF NOT EXISTS staging.stg_territory_figure (
    batch_key                 BIGINT NOT NULL,
    region_key                BIGINT NOT NULL,
    indicator_key             BIGINT NOT NULL,
    month_key                 INTEGER NOT NULL,
    year                      INTEGER NOT NULL,
    month                     INTEGER NOT NULL,
    value                     DOUBLE PRECISION NOT NULL,  -- the month's current value over the unit's territory
    status                    VARCHAR NOT NULL,
    reported_ytd_value        DOUBLE PRECISION,
    reported_growth_month_pct DOUBLE PRECISION,
    reported_growth_ytd_pct   DOUBLE PRECISION,
    from_predecessors         BOOLEAN NOT NULL,
    kind                      VARCHAR NOT NULL,
    year_rule                 VARCHAR NOT NULL,
    is_touched                BOOLEAN NOT NULL
)
