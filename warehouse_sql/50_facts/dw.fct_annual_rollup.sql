-- fct_annual_rollup
-- Grain: one row per region x indicator x year with at least one current monthly figure.
-- A flow's year is December's reported year to date (lũy kế, latest version) where the
-- department stated one, else the sum of its 12 months; a stock's is its December value, an
-- index's December's cumulative value; annual_source says which. A December year to date
-- covers the whole year, so it completes a flow's year even if some months are missing.
-- Earlier months are revised inside that year to date without being re-sent (PRODUCT.md):
-- implied_revision is how far it departs from the sum of the 12 stored months.
-- growth_pct compares annual values as stored; reported_growth_pct is the year's growth as the
-- department reported it in December (a flow's year to date, a stock's month: the year is
-- December's), computed against last year's revised
-- level, so the two can differ (PRODUCT.md). Where one number is needed (the plan gap) it is
-- growth_pct, consistent with the levels that make attainment and the planned level.
-- A year missing what its rule needs has is_complete = false and annual_value NULL: never a
-- silent partial sum (partial_value shows what there is). A monthly index (year_rule 'none',
-- IIP_MONTH) has no annual value by its rule: annual_value is always NULL, and its year is
-- complete when all 12 months are reported.
-- A unit formed by the 2025 merger is rolled up over its territory: its months before it came
-- into force are its predecessors' figures combined (months_from_predecessors counts them), and
-- annual_value_prev_year of its first years is its predecessors' combined year.
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
    months_from_predecessors INTEGER,          -- of months_reported, how many are the months before a merged unit came into force, its predecessors' figures combined (new Hồ Chí Minh City's 2025: 6); 0 otherwise
    last_month_reported     INTEGER NOT NULL,
    is_complete             BOOLEAN NOT NULL,
    annual_value            DOUBLE PRECISION,  -- NULL unless is_complete, and always for year_rule 'none' (a monthly index has no annual value)
    annual_source           VARCHAR,           -- where annual_value comes from: 'reported_december_ytd' (a flow's December lũy kế as reported) | 'sum_of_months' (a flow's 12 months summed) | 'december_value' (a stock's or cumulative index's December figure); NULL when annual_value is
    partial_value           DOUBLE PRECISION,  -- flows: sum so far; stocks/indexes: latest month
    reported_december_ytd   DOUBLE PRECISION,  -- flows: December's year to date as the department reported it (latest version); NULL if none was reported
    implied_revision        DOUBLE PRECISION,  -- reported_december_ytd - the sum of the 12 stored months: earlier months revised inside the year to date; NULL unless both exist
    implied_revision_pct    DOUBLE PRECISION,  -- implied_revision / |sum of the 12 months| x 100
    annual_value_prev_year  DOUBLE PRECISION,  -- the previous year's annual_value; for a merged unit, over its territory as it is now
    growth_pct              DOUBLE PRECISION,  -- vs previous year, % (index: value - 100)
    reported_growth_pct     DOUBLE PRECISION,  -- as the department reported it in December (latest version), growth in %: a flow's year to date vs the same period last year, a stock's December vs December last year; NULL if none was reported, and for indexes (their year is itself a growth)
    computed_by_batch_key  BIGINT NOT NULL,     -- the batch that computed this row
    known_from             TIMESTAMP NOT NULL,  -- UTC: when the warehouse first held this row
    superseded_by_batch_key BIGINT,             -- the batch that replaced it; NULL = current
    known_until            TIMESTAMP,           -- UTC: when it was replaced; NULL = current
    PRIMARY KEY (region_key, indicator_key, year, computed_by_batch_key)
)
