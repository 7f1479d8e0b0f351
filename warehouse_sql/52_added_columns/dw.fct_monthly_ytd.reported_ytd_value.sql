-- dw.fct_monthly_ytd.reported_ytd_value: a column added to a warehouse created before it existed
-- Grain: unchanged (see 50_facts/dw.fct_monthly_ytd.sql, whose CREATE TABLE has the column and describes it).
-- Why: CREATE TABLE IF NOT EXISTS leaves an existing table as it is, so `statwh init` on an
-- older warehouse adds the column here (NULL in the rows already there; 53_backfills fills the
-- current ones); on a new warehouse it is already there and this does nothing.
ALTER TABLE dw.fct_monthly_ytd ADD COLUMN IF NOT EXISTS reported_ytd_value DOUBLE PRECISION
