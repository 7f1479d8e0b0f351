-- stg_reporting_obligation
-- Grain: one row per line of etl/reference/reporting_obligations.csv (department x region x
-- indicator, the months it must be reported and the deadline day of the following month),
-- loaded for one assessment and emptied in the same transaction.
CREATE TABLE IF NOT EXISTS staging.stg_reporting_obligation (
    department_code   VARCHAR NOT NULL,
    region_code       VARCHAR NOT NULL,
    indicator_code    VARCHAR NOT NULL,
    first_month_key   INTEGER NOT NULL,
    last_month_key    INTEGER NOT NULL,   -- 999912 when open-ended
    deadline_day      INTEGER NOT NULL    -- day of the following month, end of day Vietnam time
)
