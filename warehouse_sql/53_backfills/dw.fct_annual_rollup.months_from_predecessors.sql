-- dw.fct_annual_rollup.months_from_predecessors: filled in on rows computed before the column existed
-- Grain: unchanged (see 50_facts/dw.fct_annual_rollup.sql).
-- Why: until merged units were rolled up over their territory no month of a year came from a
-- predecessor, so 0 is certain for every row computed before; filling it in keeps those rows
-- from being closed and re-inserted as changed the next time a batch touches them. Rows that
-- have a count are not touched, so running it again changes nothing.
UPDATE dw.fct_annual_rollup
SET months_from_predecessors = 0
WHERE months_from_predecessors IS NULL
