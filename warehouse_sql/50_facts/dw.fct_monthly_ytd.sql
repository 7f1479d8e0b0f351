-- fct_monthly_ytd
-- Grain: one row per region x indicator x month with a current figure.
-- Materialised from dw.calc_monthly_ytd, recomputed per batch only for the
-- (region, indicator, year) keys the batch touched (and the following year).
-- Keys: region_key, indicator_key, month_key; computed_by_batch_key = lineage.
CREATE TABLE IF NOT EXISTS dw.fct_monthly_ytd (
    region_key             BIGINT NOT NULL,
    indicator_key          BIGINT NOT NULL,
    month_key              INTEGER NOT NULL,
    year                   INTEGER NOT NULL,
    month                  INTEGER NOT NULL,
    value                  DOUBLE PRECISION NOT NULL,  -- the month's current value
    status                 VARCHAR NOT NULL,
    ytd_value              DOUBLE PRECISION,  -- flows: Jan..month sum; stocks: the month; IIP: as reported
    months_in_ytd          INTEGER NOT NULL,  -- months Jan..month present
    is_ytd_complete        BOOLEAN NOT NULL,  -- every month Jan..month present
    value_prev_year        DOUBLE PRECISION,  -- same month last year
    ytd_value_prev_year    DOUBLE PRECISION,  -- same period last year
    growth_month_pct       DOUBLE PRECISION,  -- vs same month last year, % (index: value - 100)
    growth_ytd_pct         DOUBLE PRECISION,  -- vs same period last year, %
    computed_by_batch_key  BIGINT NOT NULL,
    computed_at            TIMESTAMP NOT NULL,
    PRIMARY KEY (region_key, indicator_key, month_key)
)
