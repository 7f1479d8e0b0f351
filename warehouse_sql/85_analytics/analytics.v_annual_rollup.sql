-- v_annual_rollup
-- Grain: one row per region x indicator x year, with labels. annual_value is NULL
-- when the year lacks months its rule needs (is_complete = false), and for a monthly index,
-- which has no annual value (year_rule 'none', IIP_MONTH: complete once its 12 months are
-- reported); a flow's is December's
-- reported year to date where there is one (annual_source), with the implied revision of the
-- months it carries (implied_revision, implied_revision_pct). growth_pct compares the annual
-- values; reported_growth_pct is the year's growth as the department reported it in December
-- (a flow's year to date, a stock's month).
-- Current figures only; analytics.v_annual_rollup_history keeps every earlier version.
CREATE OR REPLACE VIEW analytics.v_annual_rollup AS
SELECT * FROM analytics.v_annual_rollup_history WHERE known_until IS NULL
