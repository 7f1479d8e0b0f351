-- brg_region_crosswalk
-- Grain: one row per pre-merger unit: which post-merger unit it became part of.
-- Keys: from_region_key (unit in force the day before effective_date),
--       to_region_key (unit in force on effective_date). Unchanged units map to themselves.
-- Source: etl/reference/region_crosswalk.csv (Resolution 202/2025/QH15, 2025-07-01).
CREATE TABLE IF NOT EXISTS dw.brg_region_crosswalk (
    from_region_key  BIGINT NOT NULL,
    to_region_key    BIGINT NOT NULL,
    effective_date   DATE NOT NULL,
    PRIMARY KEY (from_region_key, effective_date)
)
