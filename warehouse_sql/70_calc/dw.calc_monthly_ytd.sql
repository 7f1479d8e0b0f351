-- calc_monthly_ytd
-- Grain: one row per region x indicator x month with a current figure (the definition
-- that dw.fct_monthly_ytd materialises; filter it by (region, indicator, year)).
-- Year to date: flows sum January..month and only when every one of those months is
-- present; stocks take the month's value; the IIP is already cumulative as reported.
CREATE OR REPLACE VIEW dw.calc_monthly_ytd AS
WITH source AS (
    SELECT
        c.region_key, c.indicator_key, c.month_key, m.year, m.month,
        c.value, c.status, i.kind, i.year_rule
    FROM dw.v_monthly_figure_current AS c
    JOIN dw.dim_month AS m ON m.month_key = c.month_key
    JOIN dw.dim_indicator AS i ON i.indicator_key = c.indicator_key
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
    prev.value AS value_prev_year,
    prev.ytd_value AS ytd_value_prev_year,
    CASE
        WHEN cur.kind = 'index' THEN cur.value - 100
        ELSE cur.value / NULLIF(prev.value, 0) * 100 - 100
    END AS growth_month_pct,
    CASE
        WHEN cur.year_rule = 'december_cumulative' THEN cur.value - 100
        WHEN cur.kind = 'index' THEN NULL
        ELSE cur.ytd_value / NULLIF(prev.ytd_value, 0) * 100 - 100
    END AS growth_ytd_pct
FROM ytd AS cur
LEFT JOIN ytd AS prev
    ON prev.region_key = cur.region_key
   AND prev.indicator_key = cur.indicator_key
   AND prev.year = cur.year - 1
   AND prev.month = cur.month
