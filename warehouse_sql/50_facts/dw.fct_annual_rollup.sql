-- fct_annual_rollup
-- Grain: one row per region x indicator x year with at least one current monthly figure.
-- A flow's year is the sum of its 12 months, a stock's its December value, an index's
-- December's cumulative value. A year missing what its rule needs has is_complete = false
-- and annual_value NULL: never a silent partial sum (partial_value shows what there is).
-- Keys: region_key, indicator_key, year; computed_by_batch_key = lineage.
CREATE TABLE IF NOT EXISTS dw.fct_annual_rollup (
    region_key              BIGINT NOT NULL,
    indicator_key           BIGINT NOT NULL,
    year                    INTEGER NOT NULL,
    year_rule               VARCHAR NOT NULL,
    months_reported         INTEGER NOT NULL,
    last_month_reported     INTEGER NOT NULL,
    is_complete             BOOLEAN NOT NULL,
    annual_value            DOUBLE PRECISION,  -- NULL unless is_complete
    partial_value           DOUBLE PRECISION,  -- flows: sum so far; stocks/indexes: latest month
    annual_value_prev_year  DOUBLE PRECISION,
    growth_pct              DOUBLE PRECISION,  -- vs previous year, % (index: value - 100)
    computed_by_batch_key   BIGINT NOT NULL,
    computed_at             TIMESTAMP NOT NULL,
    PRIMARY KEY (region_key, indicator_key, year)
)
