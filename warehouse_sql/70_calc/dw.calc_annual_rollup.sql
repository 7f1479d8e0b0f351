-- calc_annual_rollup
-- Grain: one row per region x indicator x year with a current figure, for the keys in
-- staging.stg_touched_key (the batch in this transaction; empty outside a batch). It
-- defines dw.fct_annual_rollup. Its input is dw.calc_territory_figure's rows, staged once per
-- batch in staging.stg_territory_figure (see dw.calc_monthly_ytd). Keys are applied before the
-- window functions; the years read only as last year's base are left out by is_touched.
-- year_rule 'sum' takes December's reported year to date (latest version of December) when
-- the department stated one, else needs all 12 months and sums them; 'last' and
-- 'december_cumulative' need December; 'none' (a monthly index such as IIP_MONTH) has no
-- annual value at all (annual_value NULL, its year_rule says why), so its year is complete
-- when all 12 months are reported: nothing is missing, and a 'NOT is_complete' list must not
-- carry it forever. Growth compares annual values, so a year to date taken as a year's value
-- is also the base of the next year's growth.
-- A unit formed by the 2025 merger is rolled up over its territory (dw.calc_territory_figure):
-- new Hồ Chí Minh City's 2025 is old Hồ Chí Minh City's, Bình Dương's and Bà Rịa–Vũng Tàu's
-- January–June plus its own July–December (months_from_predecessors = 6), and its 2025 growth
-- compares with their combined 2024. A year made only of predecessors' months is not emitted.
CREATE OR REPLACE VIEW dw.calc_annual_rollup AS
WITH source AS (  -- the unit's own months, and a merged unit's months before it (its predecessors')
    SELECT
        t.region_key, t.indicator_key, t.year, t.month, t.value, t.reported_ytd_value,
        t.reported_growth_month_pct, t.reported_growth_ytd_pct, t.from_predecessors, t.kind, t.year_rule, t.is_touched,
        LAST_VALUE(t.value) OVER (
            PARTITION BY t.region_key, t.indicator_key, t.year
            ORDER BY t.month
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        ) AS latest_value
    FROM staging.stg_territory_figure AS t
),
per_year AS (
    SELECT
        region_key, indicator_key, year, kind, year_rule, is_touched,
        CAST(COUNT(*) AS INTEGER) AS months_reported,
        CAST(SUM(CASE WHEN from_predecessors THEN 1 ELSE 0 END) AS INTEGER) AS months_from_predecessors,
        MAX(month) AS last_month_reported,
        SUM(value) AS sum_value,
        MAX(CASE WHEN month = 12 THEN value END) AS december_value,
        MAX(CASE WHEN month = 12 AND year_rule = 'sum' THEN reported_ytd_value END) AS reported_december_ytd,
        -- the year's growth as reported: a flow's December year to date vs the same period, a
        -- stock's December (its year) vs the same month; an index's year is itself a growth
        MAX(CASE WHEN month = 12 THEN CASE year_rule WHEN 'sum' THEN reported_growth_ytd_pct
                                                     WHEN 'last' THEN reported_growth_month_pct END END)
            AS reported_growth_pct,
        MAX(latest_value) AS latest_value
    FROM source
    GROUP BY region_key, indicator_key, year, kind, year_rule, is_touched
),
annual AS (
    SELECT
        per_year.*,
        CASE year_rule
            WHEN 'sum' THEN months_reported = 12 OR reported_december_ytd IS NOT NULL
            WHEN 'none' THEN months_reported = 12  -- every month is there; there is just no year value
            ELSE december_value IS NOT NULL
        END AS is_complete,
        CASE year_rule
            WHEN 'sum' THEN COALESCE(reported_december_ytd, CASE WHEN months_reported = 12 THEN sum_value END)
            WHEN 'none' THEN NULL
            ELSE december_value
        END AS annual_value,
        CASE
            WHEN year_rule = 'sum' AND reported_december_ytd IS NOT NULL THEN 'reported_december_ytd'
            WHEN year_rule = 'sum' AND months_reported = 12 THEN 'sum_of_months'
            WHEN year_rule IN ('last', 'december_cumulative') AND december_value IS NOT NULL THEN 'december_value'
        END AS annual_source,
        -- with a month missing, the gap to the sum is that month, not a revision
        CASE WHEN months_reported = 12 THEN reported_december_ytd - sum_value END AS implied_revision,
        CASE WHEN months_reported = 12 THEN (reported_december_ytd - sum_value) / NULLIF(ABS(sum_value), 0) * 100 END
            AS implied_revision_pct,
        CASE year_rule
            WHEN 'sum' THEN sum_value
            WHEN 'none' THEN NULL
            ELSE latest_value
        END AS partial_value
    FROM per_year
),
with_last_year AS (
    -- The previous year by a window, not a self-join of this CTE: PostgreSQL cannot
    -- estimate a CTE joined to itself and nests the loops (quadratic in the batch).
    SELECT
        annual.*,
        CASE WHEN LAG(year) OVER by_year = year - 1 THEN LAG(annual_value) OVER by_year END
            AS annual_value_prev_year
    FROM annual
    WINDOW by_year AS (PARTITION BY region_key, indicator_key ORDER BY year)
)
SELECT
    cur.region_key,
    cur.indicator_key,
    cur.year,
    cur.year_rule,
    cur.months_reported,
    cur.months_from_predecessors,
    cur.last_month_reported,
    cur.is_complete,
    cur.annual_value,
    cur.annual_source,
    cur.partial_value,
    cur.reported_december_ytd,
    cur.implied_revision,
    cur.implied_revision_pct,
    cur.annual_value_prev_year,
    CASE
        WHEN cur.kind = 'index' THEN cur.annual_value - 100
        ELSE cur.annual_value / NULLIF(cur.annual_value_prev_year, 0) * 100 - 100
    END AS growth_pct,
    cur.reported_growth_pct
FROM with_last_year AS cur
WHERE cur.is_touched AND cur.months_reported > cur.months_from_predecessors  -- a year of the unit's own, not only its predecessors'
