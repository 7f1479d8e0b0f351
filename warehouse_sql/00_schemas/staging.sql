-- Schema: staging. Landing tables for bulk loads (COPY / Arrow); rows live only
-- inside the transaction of the batch that wrote them.
CREATE SCHEMA IF NOT EXISTS staging
