-- audit_problem
-- Grain: one row per problem found in a submission (a rejection reason or a warning).
-- Key: (batch_key, problem_seq). Located as a clerk would look: sheet, row, column.
CREATE TABLE IF NOT EXISTS dw.audit_problem (
    batch_key      BIGINT NOT NULL,
    problem_seq    INTEGER NOT NULL,
    sheet_name     VARCHAR,
    source_row     INTEGER,         -- spreadsheet row, header = its own row number
    column_name    VARCHAR,
    value_text     VARCHAR,         -- the cell as written
    rule           VARCHAR NOT NULL,  -- the expectation's rule id (expectations/*.json)
    severity       VARCHAR NOT NULL,  -- 'error' | 'warning'
    message        VARCHAR NOT NULL,
    PRIMARY KEY (batch_key, problem_seq)
)
