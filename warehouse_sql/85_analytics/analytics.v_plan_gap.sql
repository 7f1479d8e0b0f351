-- v_plan_gap
-- Grain: one row per plan target in force (region x indicator x year), with labels:
-- actual against plan, attainment (đạt x% KH) and the gap.
-- Current figures only; analytics.v_plan_gap_history keeps every earlier version.
CREATE OR REPLACE VIEW analytics.v_plan_gap AS
SELECT * FROM analytics.v_plan_gap_history WHERE known_until IS NULL
