-- dw.fct_monthly_ytd.reported_ytd_value: filled in on current rows computed before the column existed
-- Grain: unchanged (see 50_facts/dw.fct_monthly_ytd.sql).
-- Why: a current row's reported year to date is, for certain, the one its figure's latest
-- version carries (what dw.calc_monthly_ytd now computes), so filling it in keeps the next batch
-- or `statwh rebuild` from closing and re-inserting every such row. Closed rows stay NULL: which
-- version's year to date was in force while they were is not recorded with them. Only current
-- rows still NULL whose figure has a reported year to date are touched, so running it again
-- changes nothing. (Base tables only: the views are re-created after this file.)
UPDATE dw.fct_monthly_ytd
SET reported_ytd_value = (
    SELECT f.reported_ytd_value FROM dw.fct_monthly_figure_version AS f
    WHERE f.region_key = dw.fct_monthly_ytd.region_key AND f.indicator_key = dw.fct_monthly_ytd.indicator_key
      AND f.month_key = dw.fct_monthly_ytd.month_key
    ORDER BY f.batch_key DESC
    LIMIT 1
)
WHERE reported_ytd_value IS NULL AND known_until IS NULL
  AND EXISTS (SELECT 1 FROM dw.fct_monthly_figure_version AS v
              WHERE v.region_key = dw.fct_monthly_ytd.region_key AND v.indicator_key = dw.fct_monthly_ytd.indicator_key
                AND v.month_key = dw.fct_monthly_ytd.month_key AND v.reported_ytd_value IS NOT NULL)
