-- stg_touched_key
-- Grain: one row per (region, indicator, year) whose rollups a batch must recompute.
-- Key: (batch_key, region_key, indicator_key, year). Emptied in the batch's transaction.
CREATE TABLE IF NOT EXISTS staging.stg_touched_key (
    batch_key      BIGINT NOT NULL,
    region_key     BIGINT NOT NULL,
    indicator_key  BIGINT NOT NULL,
    year           INTEGER NOT NULL
)
