-- calc_territory_figure
-- Grain: one row per region x indicator x month of the years a batch needs — the
-- (region, indicator, year) keys in staging.stg_touched_key and the year before each (for
-- growth) — with a current figure for that unit's territory. Empty outside a batch. It is
-- the input of dw.calc_monthly_ytd and dw.calc_annual_rollup, computed once per batch into
-- staging.stg_territory_figure, which they read.
-- A unit's own current figures (latest version) for the months it was in force; and, for a
-- unit formed by the 2025 merger (dw.brg_region_crosswalk), the months before it came into
-- force, from the units it was formed from: new Hồ Chí Minh City's January–June 2025 are old
-- Hồ Chí Minh City's, Bình Dương's and Bà Rịa–Vũng Tàu's added together. Without them the
-- new unit's 2025 would be six months, its year incomplete, and its 2026 growth and the plan
-- gap of a 2026 growth target would have no base (PRODUCT.md: figures stay under the unit
-- that reported them, and can also be rolled up under today's units).
-- Only indicators whose catalogue merge_rule is 'sum' are combined (an index or a share is
-- not the sum of its parts), and a month is combined only when every unit that was in force
-- then and became part of this one reported it: a missing member leaves the month out, so
-- the year stays incomplete rather than silently short. A combined reported year to date
-- needs every member's. from_predecessors marks combined months; the calc views use them as
-- inputs (running sums, last year's base) but never emit them as the new unit's own figures.
-- kind and year_rule (dw.dim_indicator) come with each row, and is_touched: TRUE for the
-- touched years, FALSE for a year read only as the base of the next year's growth. The calc
-- views keep their rows by it, instead of joining the touched keys again after their window
-- functions (PostgreSQL cannot estimate those rows, and hashed the whole batch's output there,
-- in 32 spilled batches at 1,000,000 figures).
-- The versions are found by the month_key range of each needed year (month_key = year * 100 +
-- month, dw.dim_month), not through dim_month's year: a year equal to a dim_month column let
-- PostgreSQL read every month of each series from the primary key and filter by year afterwards
-- (19,000,000 rows read for 1,000,000 figures).
CREATE OR REPLACE VIEW dw.calc_territory_figure AS
WITH needed AS (  -- the touched years, and the years before them (growth), once each
    SELECT region_key, indicator_key, year, BOOL_OR(is_touched) AS is_touched
    FROM (SELECT region_key, indicator_key, year, TRUE AS is_touched FROM staging.stg_touched_key
          UNION ALL
          SELECT region_key, indicator_key, year - 1, FALSE FROM staging.stg_touched_key) AS k
    GROUP BY region_key, indicator_key, year
),
own_versions AS (
    SELECT
        f.region_key, f.indicator_key, f.month_key, m.year, m.month, f.value, f.status,
        f.reported_ytd_value, f.reported_growth_month_pct, f.reported_growth_ytd_pct, n.is_touched,
        ROW_NUMBER() OVER (
            PARTITION BY f.region_key, f.indicator_key, f.month_key ORDER BY f.batch_key DESC
        ) AS version_rank
    FROM dw.fct_monthly_figure_version AS f
    JOIN dw.dim_month AS m ON m.month_key = f.month_key
    JOIN needed AS n
      ON n.region_key = f.region_key AND n.indicator_key = f.indicator_key
     AND f.month_key BETWEEN n.year * 100 + 1 AND n.year * 100 + 12
),
own AS (  -- with the indicator's rules joined here, where the planner knows the row count
    SELECT v.*, i.kind, i.year_rule
    FROM own_versions AS v
    JOIN dw.dim_indicator AS i ON i.indicator_key = v.indicator_key
    WHERE v.version_rank = 1
),
formed_from AS (  -- a unit made by a merger, each unit it was made from, and from when
    SELECT b.to_region_key AS region_key, b.from_region_key AS member_key, b.effective_date
    FROM dw.brg_region_crosswalk AS b
    WHERE b.from_region_key <> b.to_region_key  -- unchanged units map to themselves
),
member_versions AS (
    SELECT
        ff.region_key, f.region_key AS member_key, f.indicator_key, f.month_key, m.year, m.month,
        f.value, f.status, f.reported_ytd_value, n.is_touched,
        ROW_NUMBER() OVER (
            PARTITION BY ff.region_key, f.region_key, f.indicator_key, f.month_key ORDER BY f.batch_key DESC
        ) AS version_rank
    FROM needed AS n
    JOIN formed_from AS ff ON ff.region_key = n.region_key
    JOIN dw.dim_indicator AS i ON i.indicator_key = n.indicator_key AND i.merge_rule = 'sum'
    JOIN dw.fct_monthly_figure_version AS f
      ON f.region_key = ff.member_key AND f.indicator_key = n.indicator_key
     AND f.month_key BETWEEN n.year * 100 + 1 AND n.year * 100 + 12
    JOIN dw.dim_month AS m
      ON m.month_key = f.month_key AND m.month_start < ff.effective_date
),
members_in_force AS (  -- how many units must have reported for a month to be combined
    SELECT ff.region_key, m.month_key, CAST(COUNT(*) AS INTEGER) AS members_expected
    FROM formed_from AS ff
    JOIN dw.dim_region AS r ON r.region_key = ff.member_key
    JOIN dw.dim_month AS m
      ON m.month_start < ff.effective_date
     AND r.valid_from <= m.month_start AND (r.valid_to IS NULL OR r.valid_to >= m.month_end)
    WHERE m.month_key IN (SELECT month_key FROM member_versions)
    GROUP BY ff.region_key, m.month_key
),
combined AS (  -- members added in the order of their keys: the same sum to the last bit, whatever the plan
    SELECT
        region_key, indicator_key, month_key, year, month,
        SUM(value ORDER BY member_key) AS value,
        MIN(status) AS status,  -- 'estimate' if any member's is one
        CASE WHEN COUNT(reported_ytd_value) = COUNT(*) THEN SUM(reported_ytd_value ORDER BY member_key) END
            AS reported_ytd_value,
        CAST(COUNT(*) AS INTEGER) AS members_reported, is_touched
    FROM member_versions
    WHERE version_rank = 1
    GROUP BY region_key, indicator_key, month_key, year, month, is_touched
)
SELECT region_key, indicator_key, month_key, year, month, value, status, reported_ytd_value,
       reported_growth_month_pct, reported_growth_ytd_pct, FALSE AS from_predecessors, kind, year_rule, is_touched
FROM own
UNION ALL
SELECT c.region_key, c.indicator_key, c.month_key, c.year, c.month, c.value, c.status, c.reported_ytd_value,
       -- a growth rate is its unit's own: the members' rates do not combine into the territory's
       CAST(NULL AS DOUBLE PRECISION) AS reported_growth_month_pct,
       CAST(NULL AS DOUBLE PRECISION) AS reported_growth_ytd_pct,
       TRUE AS from_predecessors, i.kind, i.year_rule, c.is_touched
FROM combined AS c
JOIN members_in_force AS e ON e.region_key = c.region_key AND e.month_key = c.month_key
JOIN dw.dim_indicator AS i ON i.indicator_key = c.indicator_key
WHERE c.members_reported = e.members_expected
