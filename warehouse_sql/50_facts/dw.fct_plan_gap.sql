-- fct_plan_gap
-- Grain: one row per plan target in force: region x indicator x year.
-- Growth target: planned_level = last year's actual x (1 + target/100) (for an index:
-- 100 + target); gap_pp = actual growth - target growth. Level target: planned_level =
-- target. Both: attainment_pct = actual / planned_level x 100, gap_level = actual - planned.
-- Keys: region_key, indicator_key, year, computed_by_batch_key.
-- History: a batch that changes a row closes it (superseded_by_batch_key, known_until) and
-- adds the new one; unchanged rows are left alone. Current rows have known_until NULL;
-- 'what was known at T' is known_from <= T AND (known_until IS NULL OR known_until > T).
CREATE TABLE IF NOT EXISTS dw.fct_plan_gap (
    region_key             BIGINT NOT NULL,
    indicator_key          BIGINT NOT NULL,
    year                   INTEGER NOT NULL,
    target_kind            VARCHAR NOT NULL,
    target_value           DOUBLE PRECISION NOT NULL,
    actual                 DOUBLE PRECISION,   -- fct_annual_rollup.annual_value
    is_actual_complete     BOOLEAN NOT NULL,
    actual_prev_year       DOUBLE PRECISION,
    actual_growth_pct      DOUBLE PRECISION,
    planned_level          DOUBLE PRECISION,
    attainment_pct         DOUBLE PRECISION,
    gap_pp                 DOUBLE PRECISION,   -- growth targets only, percentage points
    gap_level              DOUBLE PRECISION,   -- actual - planned_level, canonical unit
    computed_by_batch_key  BIGINT NOT NULL,     -- the batch that computed this row
    known_from             TIMESTAMP NOT NULL,  -- UTC: when the warehouse first held this row
    superseded_by_batch_key BIGINT,             -- the batch that replaced it; NULL = current
    known_until            TIMESTAMP,           -- UTC: when it was replaced; NULL = current
    PRIMARY KEY (region_key, indicator_key, year, computed_by_batch_key)
)
