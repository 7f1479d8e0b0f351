-- dw.audit_load_batch.landing_position: a column added to a warehouse created before it existed
-- Grain: unchanged (see 30_audit/dw.audit_load_batch.sql, whose CREATE TABLE has the column and describes it).
-- Why: CREATE TABLE IF NOT EXISTS leaves an existing table as it is, so `statwh init` on an
-- older warehouse adds the column here (NULL in the rows already there: batches of runs that
-- gave no position, whose files were written in name order); on a new warehouse it is already
-- there and this does nothing.
ALTER TABLE dw.audit_load_batch ADD COLUMN IF NOT EXISTS landing_position INTEGER
