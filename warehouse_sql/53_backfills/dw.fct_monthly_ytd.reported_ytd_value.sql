-- dw.fct_monthly_ytd.reported_ytd_value: filled in on current rows computed before the column existed
-- Grain: unchanged (see 50_facts/dw.fct_monthly_ytd.sql).
-- Why: a current row's reported year to date is, for certain, the one its figure's latest
-- version carries (what dw.calc_monthly_ytd now computes), so filling it in keeps the next batch
-- or `statwh rebuild` from closing and re-inserting every such row. Closed rows stay NULL: which
-- version's year to date was in force while they were is not recorded with them. Only rows
-- still NULL whose figure has a year to date are touched, so running it again changes nothing.
-- (Base tables only: the views are re-created after this file.)
UPDATE dw.fct_monthly_ytd AS y
SET reported_ytd_value = f.reported_ytd_value
FROM dw.fct_monthly_figure_version AS f
WHERE y.known_until IS NULL AND y.reported_ytd_value IS NULL AND f.reported_ytd_value IS NOT NULL
  AND f.region_key = y.region_key AND f.indicator_key = y.indicator_key AND f.month_key = y.month_key
  AND f.batch_key = (SELECT MAX(l.batch_key) FROM dw.fct_monthly_figure_version AS l
                     WHERE l.region_key = y.region_key AND l.indicator_key = y.indicator_key
                       AND l.month_key = y.month_key)
