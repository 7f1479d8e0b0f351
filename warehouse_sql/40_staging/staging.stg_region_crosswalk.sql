-- stg_region_crosswalk
-- Grain: one row per line of etl/reference/region_crosswalk.csv, resolved to region keys
-- when it replaces dw.brg_region_crosswalk.
CREATE TABLE IF NOT EXISTS staging.stg_region_crosswalk (
    from_region_code  VARCHAR NOT NULL,
    to_region_code    VARCHAR NOT NULL,
    effective_date    DATE NOT NULL,
    from_in_force_on  DATE NOT NULL   -- effective_date - 1 day, computed on load (dialect-free)
)
