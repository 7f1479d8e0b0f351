-- fct_monthly_ytd
-- Grain: one row per region x indicator x month with a current figure.
-- Materialised from dw.calc_monthly_ytd, recomputed per batch only for the
-- (region, indicator, year) keys the batch touched (and the following year).
-- growth_month_pct and growth_ytd_pct are computed from the stored values; the
-- reported_growth_* columns beside them are the department's own rates for the same month
-- (latest version), computed by it against last year's revised level (PRODUCT.md), NULL when
-- no report stated one (long-format files never do).
-- Keys: region_key, indicator_key, month_key, computed_by_batch_key.
-- History: a batch that changes a row closes it (superseded_by_batch_key, known_until) and
-- adds the new one; unchanged rows are left alone. Current rows have known_until NULL;
-- 'what was known at T' is known_from <= T AND (known_until IS NULL OR known_until > T).
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
    reported_ytd_value     DOUBLE PRECISION,  -- flows: the year to date (lũy kế) as the department reported it with the month; NULL: not reported
    value_prev_year        DOUBLE PRECISION,  -- same month last year
    ytd_value_prev_year    DOUBLE PRECISION,  -- same period last year
    growth_month_pct       DOUBLE PRECISION,  -- computed from the stored values: vs same month last year, % (index: value - 100)
    growth_ytd_pct         DOUBLE PRECISION,  -- computed from the stored values: vs same period last year, %
    reported_growth_month_pct DOUBLE PRECISION,  -- as the department reported it with the month (so cùng kỳ), growth in %; NULL: not reported
    reported_growth_ytd_pct   DOUBLE PRECISION,  -- as the department reported it with the month (lũy kế so cùng kỳ), growth in %; NULL: not reported
    computed_by_batch_key  BIGINT NOT NULL,     -- the batch that computed this row
    known_from             TIMESTAMP NOT NULL,  -- UTC: when the warehouse first held this row
    superseded_by_batch_key BIGINT,             -- the batch that replaced it; NULL = current
    known_until            TIMESTAMP,           -- UTC: when it was replaced; NULL = current
    PRIMARY KEY (region_key, indicator_key, month_key, computed_by_batch_key)
)
