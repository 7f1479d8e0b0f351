-- dim_region
-- Grain: one row per administrative unit (province or centrally-run city) for the
-- dates it was in force. The GSO code alone is not unique: on 2025-07-01 several new
-- units took over an old code (79 is old and new Hồ Chí Minh City).
-- Keys: region_key (surrogate); natural key (region_code, valid_from).
-- Source: etl/reference/regions.csv.
CREATE TABLE IF NOT EXISTS dw.dim_region (
    region_key    BIGINT PRIMARY KEY,
    region_code   VARCHAR NOT NULL,   -- official GSO code, two digits ('74' Bình Dương)
    valid_from    DATE NOT NULL,      -- first day in force
    valid_to      DATE,               -- last day in force; NULL while in force
    name_vi       VARCHAR NOT NULL,
    name_en       VARCHAR NOT NULL,
    unit_type     VARCHAR NOT NULL,   -- 'province' | 'municipality'
    UNIQUE (region_code, valid_from)
)
