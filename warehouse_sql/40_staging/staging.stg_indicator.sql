-- stg_indicator
-- Grain: one row per indicator in etl/reference/indicators.csv, merged into
-- dw.dim_indicator by indicator_code. Emptied in the transaction that filled it.
CREATE TABLE IF NOT EXISTS staging.stg_indicator (
    indicator_code   VARCHAR NOT NULL,
    name_vi          VARCHAR NOT NULL,
    name_en          VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,
    canonical_unit   VARCHAR NOT NULL,
    domain           VARCHAR NOT NULL,
    year_rule        VARCHAR NOT NULL,
    can_be_negative  BOOLEAN NOT NULL,
    merge_rule       VARCHAR NOT NULL,
    merge_weight_indicator VARCHAR,
    description_en   VARCHAR NOT NULL
)
