-- v_annual_rollup
-- Grain: one row per region x indicator x year, with labels. annual_value is NULL
-- when the year lacks months its rule needs (is_complete = false).
-- Current figures only; analytics.v_annual_rollup_history keeps every earlier version.
CREATE OR REPLACE VIEW analytics.v_annual_rollup AS
SELECT * FROM analytics.v_annual_rollup_history WHERE known_until IS NULL
