-- stg_month
-- Grain: one row per generated calendar month, merged into dw.dim_month by month_key.
CREATE TABLE IF NOT EXISTS staging.stg_month (
    month_key     INTEGER NOT NULL,
    month_start   DATE NOT NULL,
    month_end     DATE NOT NULL,
    year          INTEGER NOT NULL,
    month         INTEGER NOT NULL,
    quarter       INTEGER NOT NULL,
    label_vi      VARCHAR NOT NULL,
    label_en      VARCHAR NOT NULL
)
