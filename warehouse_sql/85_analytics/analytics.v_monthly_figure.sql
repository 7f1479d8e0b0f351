-- v_monthly_figure
-- Grain: one row per region x indicator x month (current version), with labels,
-- year to date and growth vs the same period of the previous year.
-- Current figures only; analytics.v_monthly_figure_history keeps every earlier version.
CREATE OR REPLACE VIEW analytics.v_monthly_figure AS
SELECT * FROM analytics.v_monthly_figure_history WHERE known_until IS NULL
