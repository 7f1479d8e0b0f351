-- dim_indicator
-- Grain: one row per indicator of the catalogue.
-- Keys: indicator_key (surrogate); natural key indicator_code.
-- Source: etl/reference/indicators.csv. kind and year_rule decide how months make a
-- year: flow = sum, stock = last month, index = December's cumulative value.
CREATE TABLE IF NOT EXISTS dw.dim_indicator (
    indicator_key    BIGINT PRIMARY KEY,
    indicator_code   VARCHAR NOT NULL UNIQUE,
    name_vi          VARCHAR NOT NULL,
    name_en          VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,   -- 'flow' | 'stock' | 'index'
    canonical_unit   VARCHAR NOT NULL,   -- every value in the facts is in this unit
    domain           VARCHAR NOT NULL,
    year_rule        VARCHAR NOT NULL,   -- 'sum' | 'last' | 'december_cumulative' | 'none'
    can_be_negative  BOOLEAN NOT NULL,   -- e.g. the trade balance
    merge_rule       VARCHAR NOT NULL,   -- across merged provinces: 'sum' | 'weighted_mean' | 'not_comparable'
    merge_weight_indicator VARCHAR,      -- for 'weighted_mean': the indicator giving the weights
    description_en   VARCHAR NOT NULL
)
