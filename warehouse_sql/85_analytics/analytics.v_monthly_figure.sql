-- v_monthly_figure
-- Grain: one row per region x indicator x month (current version), with labels,
-- year to date and growth vs the same period of the previous year: computed from the stored
-- values (growth_month_pct, growth_ytd_pct) and as the department reported it
-- (reported_growth_month_pct, reported_growth_ytd_pct; NULL where no report stated one).
-- Current figures only; analytics.v_monthly_figure_history keeps every earlier version.
CREATE OR REPLACE VIEW analytics.v_monthly_figure AS
SELECT * FROM analytics.v_monthly_figure_history WHERE known_until IS NULL
