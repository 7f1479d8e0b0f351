-- v_monthly_figure_today_boundaries
-- Grain: one row per unit in force today x indicator x month: the figures of the units
-- that are part of it today, combined (old Bình Dương, Bà Rịa–Vũng Tàu and Hồ Chí Minh City
-- make today's Hồ Chí Minh City). The figures themselves stay under the unit that reported
-- them (dw facts); this view only re-groups them.
-- How indicators combine is the catalogue's merge_rule: 'sum' adds the members; for
-- 'weighted_mean' (an index) the members are averaged with the catalogue's weight indicator
-- (its year-to-date value for a cumulative index, its month value otherwise), and a member
-- without a weight leaves the value NULL; 'not_comparable' is never combined (NULL).
-- is_complete: every unit that was in force that month and belongs to today's unit reported.
-- combined_reported_ytd_value: the year to date (lũy kế) the members reported themselves
-- (latest version), added up; only for a 'sum' indicator and only when every unit expected
-- that month reported one, else NULL. December's is the year's value where there is one
-- (analytics.v_annual_rollup_today_boundaries, as dw.fct_annual_rollup for a single unit).
CREATE OR REPLACE VIEW analytics.v_monthly_figure_today_boundaries AS
WITH unit_today AS (  -- each unit and the unit it is part of today (one merger so far)
    SELECT r.region_key, COALESCE(b.to_region_key, r.region_key) AS today_region_key
    FROM dw.dim_region AS r
    LEFT JOIN dw.brg_region_crosswalk AS b ON b.from_region_key = r.region_key
),
figures AS (
    SELECT
        y.month_key, y.year, y.month, u.today_region_key, y.region_key, y.indicator_key, y.value,
        y.reported_ytd_value, i.merge_rule, i.year_rule,
        CASE WHEN i.year_rule = 'december_cumulative' THEN w.ytd_value ELSE w.value END AS weight
    FROM dw.fct_monthly_ytd AS y
    JOIN unit_today AS u ON u.region_key = y.region_key
    JOIN dw.dim_indicator AS i ON i.indicator_key = y.indicator_key
    LEFT JOIN dw.dim_indicator AS wi ON wi.indicator_code = i.merge_weight_indicator
    LEFT JOIN dw.fct_monthly_ytd AS w
      ON w.region_key = y.region_key AND w.indicator_key = wi.indicator_key
     AND w.month_key = y.month_key AND w.known_until IS NULL
    WHERE y.known_until IS NULL
),
expected AS (  -- how many units should report, per today's unit and month
    SELECT m.month_key, u.today_region_key, CAST(COUNT(*) AS INTEGER) AS members_expected
    FROM dw.dim_month AS m
    JOIN dw.dim_region AS r
      ON r.valid_from <= m.month_start AND (r.valid_to IS NULL OR r.valid_to >= m.month_end)
    JOIN unit_today AS u ON u.region_key = r.region_key
    WHERE m.month_key IN (SELECT DISTINCT month_key FROM figures)
    GROUP BY m.month_key, u.today_region_key
),
combined AS (
    SELECT
        today_region_key, indicator_key, month_key, year, month, merge_rule, year_rule,
        CAST(COUNT(*) AS INTEGER) AS members_reported,
        SUM(value) AS sum_value,
        SUM(value * weight) AS weighted_sum,
        SUM(weight) AS weight_sum,
        COUNT(weight) AS weights_present,
        SUM(reported_ytd_value) AS reported_ytd_sum,
        COUNT(reported_ytd_value) AS reported_ytds_present
    FROM figures
    GROUP BY today_region_key, indicator_key, month_key, year, month, merge_rule, year_rule
)
SELECT
    t.region_code,
    t.name_vi AS region_name_vi,
    t.name_en AS region_name_en,
    i.indicator_code,
    i.name_vi AS indicator_name_vi,
    i.name_en AS indicator_name_en,
    i.canonical_unit AS unit,
    c.month_key,
    c.year,
    c.month,
    c.merge_rule,
    c.year_rule,
    c.members_reported,
    e.members_expected,
    c.members_reported = e.members_expected AS is_complete,
    CASE
        WHEN c.merge_rule = 'sum' THEN c.sum_value
        WHEN c.merge_rule = 'weighted_mean' AND c.weights_present = c.members_reported
            THEN c.weighted_sum / NULLIF(c.weight_sum, 0)
    END AS combined_value,
    CASE WHEN c.merge_rule = 'sum' AND c.reported_ytds_present = e.members_expected THEN c.reported_ytd_sum END
        AS combined_reported_ytd_value
FROM combined AS c
JOIN expected AS e ON e.month_key = c.month_key AND e.today_region_key = c.today_region_key
JOIN dw.dim_region AS t ON t.region_key = c.today_region_key
JOIN dw.dim_indicator AS i ON i.indicator_key = c.indicator_key
