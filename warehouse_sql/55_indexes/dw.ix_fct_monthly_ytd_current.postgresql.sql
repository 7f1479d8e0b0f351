-- ix_fct_monthly_ytd_current (PostgreSQL only)
-- Grain: one entry per current row (known_until IS NULL) of dw.fct_monthly_ytd, by
-- region x indicator x year: the key a batch touches. A refresh then finds the current rows
-- of its keys without reading every month of their history (the primary key starts with
-- region x indicator but goes on by month, so it cannot skip the other years).
-- DuckDB needs none: it scans the fact in bulk, and an ART index would slow every insert.
CREATE INDEX IF NOT EXISTS ix_fct_monthly_ytd_current
    ON dw.fct_monthly_ytd (region_key, indicator_key, year) WHERE known_until IS NULL
