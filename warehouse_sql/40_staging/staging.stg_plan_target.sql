-- stg_plan_target
-- Grain: one row per plan target of a submission being loaded (region x indicator x year).
-- Key: (batch_key, source_row). Emptied in the transaction that filled it.
CREATE TABLE IF NOT EXISTS staging.stg_plan_target (
    batch_key              BIGINT NOT NULL,
    source_row             INTEGER NOT NULL,
    region_code            VARCHAR NOT NULL,
    indicator_code         VARCHAR NOT NULL,
    year                   INTEGER NOT NULL,
    year_start             DATE NOT NULL,                -- 1 January: the region must be in force then
    target_kind            VARCHAR NOT NULL,             -- 'growth_pct' | 'level'
    target_value           DOUBLE PRECISION NOT NULL,    -- % for growth, canonical unit for level
    target_value_reported  DOUBLE PRECISION NOT NULL,
    unit_reported          VARCHAR NOT NULL,
    note                   VARCHAR
)
