-- access_roles (PostgreSQL only; DuckDB is a single-user file)
-- Grants: two group roles, created if missing (roles are cluster-wide), granted per database.
--   statwh_loader   runs the pipeline: reads and writes staging and dw, uses the sequences,
--                   refreshes the statistics of staging tables (staging.analyze_staging_table);
--                   cannot create, alter or drop objects (schema changes run as the owner
--                   via `statwh init`).
--   statwh_analyst  reads the analytics views only; no access to staging or dw, no writes,
--                   no DDL. The views run with their owner's rights, so no grant on dw is needed.
-- Give people and services login roles that are members: CREATE ROLE ana LOGIN IN ROLE statwh_analyst.
DO $grants$
BEGIN
    -- Two databases on one server may be initialised at once (a second province's warehouse,
    -- parallel test workers): the loser of a race to create a role finds it made, which is fine.
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'statwh_loader') THEN
        BEGIN
            CREATE ROLE statwh_loader NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'statwh_analyst') THEN
        BEGIN
            CREATE ROLE statwh_analyst NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO statwh_loader, statwh_analyst', current_database());

    GRANT USAGE ON SCHEMA staging, dw, analytics TO statwh_loader;
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA staging, dw TO statwh_loader;
    GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO statwh_loader;
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA dw TO statwh_loader;
    -- fresh statistics of the staging tables a batch fills (PostgreSQL 15: only owners ANALYZE)
    REVOKE ALL ON FUNCTION staging.analyze_staging_table(regclass) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION staging.analyze_staging_table(regclass) TO statwh_loader;

    GRANT USAGE ON SCHEMA analytics TO statwh_analyst;
    GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO statwh_analyst;
    REVOKE ALL ON SCHEMA staging, dw FROM statwh_analyst;
    REVOKE CREATE ON SCHEMA public FROM PUBLIC;
END
$grants$
