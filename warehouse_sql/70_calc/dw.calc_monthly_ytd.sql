-- calc_monthly_ytd
-- Grain: one row per region x indicator x month with a current figure, for the
-- (region, indicator, year) keys in staging.stg_touched_key — the keys the batch in this
-- transaction touched. Outside a batch it is empty. It defines dw.fct_monthly_ytd.
-- Its input is dw.calc_territory_figure's rows, which the batch's refresh stages once in
-- staging.stg_territory_figure for this view and dw.calc_annual_rollup (outside a batch it is
-- empty too). The keys are applied before any window function (the territory holds only the
-- touched years and the year before each), so a batch's cost follows what it touched, not the
-- length of history; the years before are then left out by is_touched.
-- Year to date: flows sum January..month and only when every one of those months is
-- present; stocks take the month's value; the IIP is already cumulative as reported.
-- A unit formed by the 2025 merger counts its territory: its months before it came into
-- force are its predecessors' combined (dw.calc_territory_figure), so new Hồ Chí Minh City's
-- July 2025 year to date covers January–July, and its same month last year is the combined
-- July 2024. Those earlier months are inputs only, never rows of the new unit.
CREATE OR REPLACE VIEW dw.calc_monthly_ytd AS
WITH source AS (  -- the unit's own months, and a merged unit's months before it (its predecessors')
    SELECT t.region_key, t.indicator_key, t.month_key, t.year, t.month, t.value, t.status,
           t.reported_ytd_value, t.reported_growth_month_pct, t.reported_growth_ytd_pct, t.from_predecessors,
           t.kind, t.year_rule, t.is_touched
    FROM staging.stg_territory_figure AS t
),
running AS (
    SELECT
        source.*,
        SUM(value) OVER year_so_far AS running_sum,
        COUNT(*) OVER year_so_far AS months_in_ytd
    FROM source
    WINDOW year_so_far AS (
        PARTITION BY region_key, indicator_key, year
        ORDER BY month
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    )
),
ytd AS (
    SELECT
        running.*,
        months_in_ytd = month AS is_ytd_complete,
        CASE
            WHEN year_rule = 'sum' AND months_in_ytd = month THEN running_sum
            WHEN year_rule IN ('last', 'december_cumulative') THEN value
        END AS ytd_value
    FROM running
),
with_last_year AS (
    -- Same month of the previous year by a window, not a self-join of this CTE: PostgreSQL
    -- cannot estimate a CTE joined to itself and nests the loops (quadratic in the batch).
    SELECT
        ytd.*,
        CASE WHEN LAG(year) OVER same_month = year - 1 THEN LAG(value) OVER same_month END
            AS value_prev_year,
        CASE WHEN LAG(year) OVER same_month = year - 1 THEN LAG(ytd_value) OVER same_month END
            AS ytd_value_prev_year
    FROM ytd
    WINDOW same_month AS (PARTITION BY region_key, indicator_key, month ORDER BY year)
)
SELECT
    cur.region_key,
    cur.indicator_key,
    cur.month_key,
    cur.year,
    cur.month,
    cur.value,
    cur.status,
    cur.ytd_value,
    CAST(cur.months_in_ytd AS INTEGER) AS months_in_ytd,
    cur.is_ytd_complete,
    cur.reported_ytd_value,
    cur.value_prev_year,
    cur.ytd_value_prev_year,
    CASE
        WHEN cur.kind = 'index' THEN cur.value - 100
        ELSE cur.value / NULLIF(cur.value_prev_year, 0) * 100 - 100
    END AS growth_month_pct,
    CASE
        WHEN cur.year_rule = 'december_cumulative' THEN cur.value - 100
        WHEN cur.kind = 'index' THEN NULL
        ELSE cur.ytd_value / NULLIF(cur.ytd_value_prev_year, 0) * 100 - 100
    END AS growth_ytd_pct,
    cur.reported_growth_month_pct,
    cur.reported_growth_ytd_pct
FROM with_last_year AS cur
WHERE cur.is_touched AND NOT cur.from_predecessors  -- a merged unit's earlier months stay its predecessors' figures
