-- dw.fct_annual_rollup.months_from_predecessors: a column added to a warehouse created before it existed
-- Grain: unchanged (see 50_facts/dw.fct_annual_rollup.sql, whose CREATE TABLE has the column and describes it).
-- Why: CREATE TABLE IF NOT EXISTS leaves an existing table as it is, so `statwh init` on an
-- older warehouse adds the column here. Rows already there get 0, which is right for them:
-- until merged units were rolled up over their territory no month came from a predecessor.
-- (DuckDB cannot add a NOT NULL column with IF NOT EXISTS; the default keeps it filled.)
ALTER TABLE dw.fct_annual_rollup ADD COLUMN IF NOT EXISTS months_from_predecessors INTEGER DEFAULT 0
