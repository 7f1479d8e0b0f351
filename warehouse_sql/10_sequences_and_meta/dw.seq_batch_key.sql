-- Sequence: surrogate keys of dw.audit_load_batch (one value per ingested file).
CREATE SEQUENCE IF NOT EXISTS dw.seq_batch_key START 1
