-- dim_unit
-- Grain: one row per unit of measure. Key: unit (its canonical spelling).
-- factor converts to the dimension's base unit (đồng, USD, kWh, W, %, count).
-- Source: etl/reference/units.csv.
CREATE TABLE IF NOT EXISTS dw.dim_unit (
    unit        VARCHAR PRIMARY KEY,
    dimension   VARCHAR NOT NULL,
    factor      DOUBLE PRECISION NOT NULL
)
