-- fct_reporting_status
-- Grain: one row per reporting obligation and month: department x region x indicator x month.
-- Reassessed daily for recent months (DHIS2-style reporting rates): on_time = first version
-- recorded by the deadline, late = after it, missing = nothing by an elapsed deadline,
-- not_yet_due = nothing yet and the deadline is ahead.
-- Keys: department_code, region_key -> dim_region, indicator_key -> dim_indicator, month_key.
CREATE TABLE IF NOT EXISTS dw.fct_reporting_status (
    department_code    VARCHAR NOT NULL,
    region_key         BIGINT NOT NULL,
    indicator_key      BIGINT NOT NULL,
    month_key          INTEGER NOT NULL,
    deadline_at        TIMESTAMP NOT NULL,   -- UTC: end of the deadline day in Vietnam
    first_received_at  TIMESTAMP,            -- UTC: first version recorded, as of the assessment
    status             VARCHAR NOT NULL,     -- on_time | late | missing | not_yet_due
    assessed_at        TIMESTAMP NOT NULL,   -- UTC: the 'as of' of the assessment
    PRIMARY KEY (department_code, region_key, indicator_key, month_key)
)
