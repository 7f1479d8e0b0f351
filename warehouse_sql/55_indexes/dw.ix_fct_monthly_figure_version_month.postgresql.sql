-- ix_fct_monthly_figure_version_month (PostgreSQL only)
-- Grain: one entry per row of dw.fct_monthly_figure_version, by month_key: a batch compares
-- its figures with the latest versions of the months it holds without scanning history
-- (the primary key starts with region x indicator, so it cannot find a month alone).
-- DuckDB needs none: its zone maps on month_key skip the row groups of other months.
CREATE INDEX IF NOT EXISTS ix_fct_monthly_figure_version_month ON dw.fct_monthly_figure_version (month_key)
