-- fct_monthly_figure_version
-- Grain: one row per version of a monthly figure: region x indicator x month x batch.
-- A batch writes a row only when the figure is new or differs from the latest version (value,
-- status, or a year to date the file states); nothing is ever updated or deleted, so every
-- version stays queryable.
-- reported_ytd_value: a flow's year to date (lũy kế) as the report-layout file stated it with
-- the month, NULL when the file stated none (long-format files never do). It is part of the
-- version because earlier months are revised inside it (PRODUCT.md): December's, in the
-- latest version, is the year's value (dw.calc_annual_rollup). A re-send that states no year to
-- date, with the same value and status, is unchanged: saying nothing does not withdraw it.
-- Keys: region_key -> dim_region, indicator_key -> dim_indicator, month_key -> dim_month,
--       batch_key -> audit_load_batch (lineage: the load that wrote the row).
CREATE TABLE IF NOT EXISTS dw.fct_monthly_figure_version (
    region_key       BIGINT NOT NULL,
    indicator_key    BIGINT NOT NULL,
    month_key        INTEGER NOT NULL,
    batch_key        BIGINT NOT NULL,
    value            DOUBLE PRECISION NOT NULL,   -- in dim_indicator.canonical_unit
    status           VARCHAR NOT NULL,            -- 'estimate' | 'official'
    value_reported   DOUBLE PRECISION NOT NULL,   -- as the department wrote it ...
    unit_reported    VARCHAR NOT NULL,            -- ... in this unit
    reported_ytd_value DOUBLE PRECISION,          -- flows: the report's own year to date (lũy kế) through this month, in dim_indicator.canonical_unit; NULL: the file stated none
    department_code  VARCHAR,
    note             VARCHAR,
    source_row       INTEGER NOT NULL,            -- row in the submitted file
    recorded_at      TIMESTAMP NOT NULL,          -- UTC, when the warehouse learnt it
    PRIMARY KEY (region_key, indicator_key, month_key, batch_key)
)
