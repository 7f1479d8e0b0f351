-- v_annual_rollup_today_boundaries
-- Grain: one row per unit in force today x indicator x year, from
-- analytics.v_monthly_figure_today_boundaries. The year follows the rule of dw.fct_annual_rollup:
-- a flow's is December's combined reported year to date (lũy kế) where every unit that belongs
-- to today's unit and was in force in December reported one, else the sum of its 12 combined
-- months; a stock's and a cumulative index's is December's combined value; annual_source says
-- which. (A unit formed on 2025-07-01 reports its December 2025 year to date for its whole
-- territory: that is the combined year.) annual_value is NULL unless what the rule needs is
-- complete (all member units reported) and combinable; comparability says why not.
-- implied_revision: how far the combined December year to date is from the 12 combined months.
CREATE OR REPLACE VIEW analytics.v_annual_rollup_today_boundaries AS
WITH per_year AS (
    SELECT
        region_code, region_name_vi, region_name_en, indicator_code, indicator_name_vi, indicator_name_en,
        unit, year, merge_rule, year_rule,
        CAST(COUNT(*) AS INTEGER) AS months_present,
        CAST(SUM(CASE WHEN is_complete AND combined_value IS NOT NULL THEN 1 ELSE 0 END) AS INTEGER)
            AS months_complete,
        SUM(combined_value) AS sum_value,
        MAX(CASE WHEN month = 12 THEN combined_value END) AS december_value,
        MAX(CASE WHEN month = 12 AND year_rule = 'sum' THEN combined_reported_ytd_value END)
            AS reported_december_ytd,
        BOOL_AND(CASE WHEN month = 12 THEN is_complete END) AS december_complete,
        MIN(members_reported) AS min_members_reported,
        MAX(members_expected) AS members_expected
    FROM analytics.v_monthly_figure_today_boundaries
    GROUP BY region_code, region_name_vi, region_name_en, indicator_code, indicator_name_vi,
             indicator_name_en, unit, year, merge_rule, year_rule
),
annual AS (
    SELECT
        per_year.*,
        CASE
            WHEN merge_rule = 'not_comparable' OR year_rule = 'none' THEN NULL
            WHEN year_rule = 'sum' AND reported_december_ytd IS NOT NULL THEN 'reported_december_ytd'
            WHEN year_rule = 'sum' AND months_complete = 12 THEN 'sum_of_months'
            WHEN year_rule IN ('last', 'december_cumulative') AND december_complete AND december_value IS NOT NULL
                THEN 'december_value'
        END AS annual_source
    FROM per_year
)
SELECT
    region_code, region_name_vi, region_name_en, indicator_code, indicator_name_vi, indicator_name_en,
    unit, year, merge_rule, months_present, months_complete, min_members_reported, members_expected,
    CASE
        WHEN merge_rule = 'not_comparable' THEN 'not_comparable'
        WHEN year_rule = 'none' THEN 'no_annual_value'
        WHEN annual_source IS NOT NULL THEN 'complete'
        ELSE 'incomplete'
    END AS comparability,
    CASE annual_source
        WHEN 'reported_december_ytd' THEN reported_december_ytd
        WHEN 'sum_of_months' THEN sum_value
        WHEN 'december_value' THEN december_value
    END AS annual_value,
    annual_source,  -- 'reported_december_ytd' (the members' December lũy kế, added up) | 'sum_of_months' | 'december_value'; NULL when annual_value is
    -- as in dw.fct_annual_rollup: with a member's month missing, the gap is that month, not a revision
    CASE WHEN annual_source = 'reported_december_ytd' AND months_complete = 12
        THEN reported_december_ytd - sum_value END AS implied_revision,  -- the combined December year to date - the sum of the 12 combined months; NULL unless the year is the reported year to date and every month is complete
    CASE WHEN annual_source = 'reported_december_ytd' AND months_complete = 12
        THEN (reported_december_ytd - sum_value) / NULLIF(ABS(sum_value), 0) * 100 END AS implied_revision_pct  -- implied_revision / |sum of the 12 combined months| x 100
FROM annual
