-- dim_month
-- Grain: one row per calendar month, 2000-01 to 2040-12.
-- Key: month_key = year * 100 + month (e.g. 202112), the smart key every fact uses.
CREATE TABLE IF NOT EXISTS dw.dim_month (
    month_key     INTEGER PRIMARY KEY,
    month_start   DATE NOT NULL,      -- first day of the month
    month_end     DATE NOT NULL,      -- last day of the month
    year          INTEGER NOT NULL,
    month         INTEGER NOT NULL,   -- 1..12
    quarter       INTEGER NOT NULL,   -- 1..4
    label_vi      VARCHAR NOT NULL,   -- 'Tháng 12/2021'
    label_en      VARCHAR NOT NULL    -- 'Dec 2021'
)
