-- dw.fct_annual_rollup.reported_growth_pct: a column added to a warehouse created before it existed
-- Grain: unchanged (see 50_facts/dw.fct_annual_rollup.sql, whose CREATE TABLE has the column and describes it).
-- Why: CREATE TABLE IF NOT EXISTS leaves an existing table as it is, so `statwh init` on an
-- older warehouse adds the column here (NULL in the rows already there); on a new warehouse it
-- is already there and this does nothing. On an upgraded warehouse it is the last column:
-- nothing reads the table by column position.
ALTER TABLE dw.fct_annual_rollup ADD COLUMN IF NOT EXISTS reported_growth_pct DOUBLE PRECISION
