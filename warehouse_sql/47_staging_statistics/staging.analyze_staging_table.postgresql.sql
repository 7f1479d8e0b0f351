-- analyze_staging_table (PostgreSQL only)
-- Grain: one call per staging table a batch has just filled; returns nothing.
-- Why: a batch ANALYZEs the staging tables it fills, inside its own transaction, so that the
-- planner plans its joins for the rows it holds (autovacuum never sees them: they are deleted
-- before the batch commits). PostgreSQL 15 lets only a table's owner ANALYZE it, and the
-- loader role (statwh_loader, which production's workers log in as) owns none: without this
-- its batches were planned on whatever autovacuum last saw, an empty table. This function runs
-- with its owner's rights (SECURITY DEFINER) and ANALYZEs one table of the staging schema, the
-- schema of per-batch scratch tables, and nothing else: any other relation is refused, so it
-- grants no more than fresh statistics of staging. EXECUTE is granted to statwh_loader only
-- (90_access). search_path is pinned so that no object of the caller's can stand in.
-- Used by etl.warehouse.refresh_statistics when the session's role does not own the table.
CREATE OR REPLACE FUNCTION staging.analyze_staging_table(relation regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
    IF (SELECT relnamespace FROM pg_class WHERE oid = relation) IS DISTINCT FROM 'staging'::regnamespace
       OR (SELECT relkind FROM pg_class WHERE oid = relation) <> 'r' THEN
        RAISE EXCEPTION 'staging.analyze_staging_table: % is not a table of the staging schema', relation
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('ANALYZE %s', relation);
END
$body$
