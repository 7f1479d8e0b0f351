-- stg_unit
-- Grain: one row per unit in etl/reference/units.csv, merged into dw.dim_unit by unit.
CREATE TABLE IF NOT EXISTS staging.stg_unit (
    unit       VARCHAR NOT NULL,
    dimension  VARCHAR NOT NULL,
    factor     DOUBLE PRECISION NOT NULL
)
