-- Sequence: surrogate keys of dw.dim_region.
CREATE SEQUENCE IF NOT EXISTS dw.seq_region_key START 1
