-- fct_annual_rollup
-- Grain: one row per region x indicator x year with at least one current monthly figure.
-- A flow's year is the sum of its 12 months, a stock's its December value, an index's
-- December's cumulative value. A year missing what its rule needs has is_complete = false
-- and annual_value NULL: never a silent partial sum (partial_value shows what there is).
-- Keys: region_key, indicator_key, year, computed_by_batch_key.
-- History: a batch that changes a row closes it (superseded_by_batch_key, known_until) and
-- adds the new one; unchanged rows are left alone. Current rows have known_until NULL;
-- 'what was known at T' is known_from <= T AND (known_until IS NULL OR known_until > T).
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
    computed_by_batch_key  BIGINT NOT NULL,     -- the batch that computed this row
    known_from             TIMESTAMP NOT NULL,  -- UTC: when the warehouse first held this row
    superseded_by_batch_key BIGINT,             -- the batch that replaced it; NULL = current
    known_until            TIMESTAMP,           -- UTC: when it was replaced; NULL = current
    PRIMARY KEY (region_key, indicator_key, year, computed_by_batch_key)
)
