-- dw.fct_annual_rollup.annual_source: filled in on rows computed before the column existed
-- Grain: unchanged (see 50_facts/dw.fct_annual_rollup.sql).
-- Why: before reported years to date were stored, every complete flow year was the sum of its
-- months and every complete stock or index year its December figure, so the source of those rows
-- is known for certain; filling it in keeps them from reading as 'unknown source' (and from
-- being closed and re-inserted as changed rows the next time a batch touches them). The other
-- added columns are rightly NULL there: no year to date had been stored. Rows that have a
-- source are not touched, so running it again changes nothing.
UPDATE dw.fct_annual_rollup
SET annual_source = CASE WHEN year_rule = 'sum' THEN 'sum_of_months' ELSE 'december_value' END
WHERE annual_source IS NULL AND annual_value IS NOT NULL
