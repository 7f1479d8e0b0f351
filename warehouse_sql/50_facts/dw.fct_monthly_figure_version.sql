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
-- reported_growth_month_pct, reported_growth_ytd_pct: the growth the report states for the
-- month and for its year to date (% so cùng kỳ), as growth in % whether the report wrote an
-- index (same period = 100) or a growth. The department computes them against last year's
-- revised level, so they can differ from the growth of the levels stored here (PRODUCT.md):
-- both are kept, the computed one in dw.fct_monthly_ytd beside the reported one. They are part
-- of the version like the year to date: a stated rate that differs makes a new version.
-- A version made for another reason keeps what the file does not state from the latest
-- version while the value is unchanged; a new value comes only with what its file states.
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
    reported_growth_month_pct DOUBLE PRECISION,   -- the report's own growth of the month vs the same month last year (so cùng kỳ), % (an index written with base 100 less 100); NULL: the file stated none
    reported_growth_ytd_pct DOUBLE PRECISION,     -- the report's own growth of the year to date vs the same period last year (lũy kế so cùng kỳ), %; NULL: the file stated none, or the indicator has no year to date (IIP_MONTH)
    department_code  VARCHAR,
    note             VARCHAR,
    source_row       INTEGER NOT NULL,            -- row in the submitted file
    recorded_at      TIMESTAMP NOT NULL,          -- UTC, when the warehouse learnt it
    PRIMARY KEY (region_key, indicator_key, month_key, batch_key)
)
