-- stg_region
-- Grain: one row per unit in etl/reference/regions.csv, bulk-loaded then merged into
-- dw.dim_region (update by natural key, insert new with a new surrogate key).
-- Key: (region_code, valid_from). Emptied in the transaction that filled it.
CREATE TABLE IF NOT EXISTS staging.stg_region (
    region_code  VARCHAR NOT NULL,
    valid_from   DATE NOT NULL,
    valid_to     DATE,
    name_vi      VARCHAR NOT NULL,
    name_en      VARCHAR NOT NULL,
    unit_type    VARCHAR NOT NULL
)
