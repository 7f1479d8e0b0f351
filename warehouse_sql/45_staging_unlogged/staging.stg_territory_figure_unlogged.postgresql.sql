-- staging.stg_territory_figure made UNLOGGED (PostgreSQL only)
-- Grain: unchanged (see 40_staging/staging.stg_territory_figure.sql).
-- Why: its rows live only inside one batch's transaction (written, read, deleted before
-- commit), so writing them to the WAL buys nothing: after a crash PostgreSQL empties an
-- unlogged table, which is exactly the state a committed batch leaves. Unlogged, the batch's
-- INSERT and DELETE skip the WAL; standbys receive no staging rows. Running it again on an
-- unlogged table changes nothing. DuckDB has no WAL per table.
ALTER TABLE staging.stg_territory_figure SET UNLOGGED
