-- stg_monthly_figure
-- Grain: one row per figure of a submission being loaded (region x indicator x month),
-- written by bulk load and emptied in the same transaction. Key: (batch_key, source_row).
CREATE TABLE IF NOT EXISTS staging.stg_monthly_figure (
    batch_key        BIGINT NOT NULL,
    source_row       INTEGER NOT NULL,
    region_code      VARCHAR NOT NULL,
    indicator_code   VARCHAR NOT NULL,
    month_key        INTEGER NOT NULL,
    period_start     DATE NOT NULL,
    value            DOUBLE PRECISION NOT NULL,   -- in the indicator's canonical unit
    value_reported   DOUBLE PRECISION NOT NULL,   -- as written
    reported_ytd_value DOUBLE PRECISION,          -- flows: the report's year to date (lũy kế), canonical unit; NULL: none stated
    reported_growth_month_pct DOUBLE PRECISION,   -- the report's month vs same month last year (so cùng kỳ), as growth in %; NULL: none stated
    reported_growth_ytd_pct DOUBLE PRECISION,     -- the report's year to date vs same period last year, as growth in %; NULL: none stated
    unit_reported    VARCHAR NOT NULL,
    status           VARCHAR NOT NULL,
    department_code  VARCHAR,
    note             VARCHAR
)
