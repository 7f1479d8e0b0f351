-- fct_plan_target_version
-- Grain: one row per version of a plan target: region x indicator x year x batch.
-- Written only when new or changed; the latest version is the plan in force.
-- Keys: region_key, indicator_key, year, batch_key (lineage).
CREATE TABLE IF NOT EXISTS dw.fct_plan_target_version (
    region_key             BIGINT NOT NULL,
    indicator_key          BIGINT NOT NULL,
    year                   INTEGER NOT NULL,
    batch_key              BIGINT NOT NULL,
    target_kind            VARCHAR NOT NULL,            -- 'growth_pct' | 'level'
    target_value           DOUBLE PRECISION NOT NULL,   -- growth in %, or level in canonical unit
    target_value_reported  DOUBLE PRECISION NOT NULL,
    unit_reported          VARCHAR NOT NULL,
    note                   VARCHAR,
    source_row             INTEGER NOT NULL,
    recorded_at            TIMESTAMP NOT NULL,
    PRIMARY KEY (region_key, indicator_key, year, batch_key)
)
