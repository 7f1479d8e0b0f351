-- Schema: analytics. Analyst-facing views with Vietnamese and English labels.
CREATE SCHEMA IF NOT EXISTS analytics
