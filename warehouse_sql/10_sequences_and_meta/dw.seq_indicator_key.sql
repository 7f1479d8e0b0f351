-- Sequence: surrogate keys of dw.dim_indicator.
CREATE SEQUENCE IF NOT EXISTS dw.seq_indicator_key START 1
