-- ix_fct_monthly_figure_version_batch (PostgreSQL only)
-- Grain: one entry per row of dw.fct_monthly_figure_version, by batch_key: a batch finds the
-- versions it wrote without scanning history. DuckDB needs none: batch keys only grow, so
-- its zone maps already skip old row groups, and an ART index would slow bulk loads.
CREATE INDEX IF NOT EXISTS ix_fct_monthly_figure_version_batch ON dw.fct_monthly_figure_version (batch_key)
