-- dw.fct_annual_rollup.months_from_predecessors: a column added to a warehouse created before it existed
-- Grain: unchanged (see 50_facts/dw.fct_annual_rollup.sql, whose CREATE TABLE has the column and describes it).
-- Why: CREATE TABLE IF NOT EXISTS leaves an existing table as it is, so `statwh init` on an
-- older warehouse adds the column here (NULL in the rows already there, filled in by
-- 53_backfills); on a new warehouse it is already there and this does nothing.
ALTER TABLE dw.fct_annual_rollup ADD COLUMN IF NOT EXISTS months_from_predecessors INTEGER
