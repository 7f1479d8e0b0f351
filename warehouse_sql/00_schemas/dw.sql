-- Schema: dw. The warehouse proper: dimensions, facts, audit of loads.
CREATE SCHEMA IF NOT EXISTS dw
