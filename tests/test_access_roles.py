"""PostgreSQL roles: the analyst reads the analytics views and nothing else; the loader runs
the pipeline but cannot change the schema. Real logins against the real server."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from etl.pipeline import ingest_paths
from etl.warehouse import apply_schema, prepare_warehouse

pytestmark = pytest.mark.postgres


REFUSED = [
    "INSERT INTO analytics.v_plan_gap (region_code) VALUES ('74')",
    "UPDATE analytics.v_plan_gap SET actual = 0",
    "DELETE FROM analytics.v_plan_gap",
    "SELECT COUNT(*) FROM dw.fct_monthly_figure_version",
    "INSERT INTO dw.dim_unit (unit, dimension, factor) VALUES ('x', 'count', 1)",
    "UPDATE dw.fct_plan_gap SET actual = 0",
    "DELETE FROM dw.audit_load_batch",
    "SELECT COUNT(*) FROM staging.stg_monthly_figure",
    "CREATE TABLE analytics.mine (x INTEGER)",
    "CREATE VIEW analytics.mine AS SELECT 1 AS x",
    "CREATE TABLE public.mine (x INTEGER)",
    "DROP VIEW analytics.v_plan_gap",
    "ALTER TABLE dw.dim_month ADD COLUMN x INTEGER",
    "TRUNCATE dw.fct_monthly_ytd",
]


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_the_analyst_reads_views_and_can_change_nothing(engine, login, sample_in_landing):
    ingest_paths(sample_in_landing, engine)
    analyst = login("statwh_analyst")
    with analyst.connect() as conn:
        attainment = conn.execute(sa.text(
            "SELECT attainment_pct FROM analytics.v_plan_gap WHERE region_code = '74' "
            "AND indicator_code = 'RETAIL' AND year = 2021")).scalar_one()
        assert round(attainment, 1) == 89.1
        assert conn.execute(sa.text("SELECT COUNT(*) FROM analytics.v_monthly_figure")).scalar_one() == 540
    for statement in REFUSED:
        # the joined views are not updatable either; the privilege check below shows both
        with analyst.connect() as conn, pytest.raises(
                sa.exc.DBAPIError, match="permission denied|must be owner|cannot (insert into|update|delete from) view"):
            conn.exec_driver_sql(statement)
    with analyst.connect() as conn:
        privileges = conn.execute(sa.text(
            "SELECT privilege, has_table_privilege('analytics.v_plan_gap', privilege) FROM "
            "(VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) AS p (privilege)")).fetchall()
    assert dict(privileges) == {"SELECT": True, "INSERT": False, "UPDATE": False, "DELETE": False, "TRUNCATE": False}


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_the_loader_runs_the_pipeline_but_not_ddl(engine, login, sample_in_landing):
    loader = login("statwh_loader")
    prepare_warehouse(loader)                       # schema already applied: only reference merge
    summary = ingest_paths(sample_in_landing, loader)
    assert summary.counts["loaded"] == 3
    for statement in ("CREATE TABLE dw.mine (x INTEGER)", "DROP TABLE dw.dim_month",
                      "CREATE OR REPLACE VIEW analytics.v_plan_gap AS SELECT 1 AS x",
                      "ALTER TABLE dw.dim_region ADD COLUMN x INTEGER"):
        with loader.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied|must be owner"):
            conn.exec_driver_sql(statement)


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_the_loader_refreshes_the_statistics_of_staging_and_nothing_else(engine, login):
    """A batch plans its joins on fresh statistics of the staging tables it fills, whoever runs
    it: PostgreSQL 15 lets only owners ANALYZE, so the loader goes through
    staging.analyze_staging_table, which refuses any table outside staging."""
    from etl.warehouse import refresh_statistics

    loader, analyst = login("statwh_loader"), login("statwh_analyst")
    with loader.connect() as conn:
        with conn.begin() as batch:
            conn.exec_driver_sql("INSERT INTO staging.stg_touched_key (batch_key, region_key, indicator_key, year) "
                                 "SELECT -1, MOD(g, 60), MOD(g, 12), 2000 + MOD(g, 20) FROM generate_series(1, 5000) AS g")
            refresh_statistics(conn, "staging.stg_touched_key", "dw.dim_region")  # dw: left to autovacuum
            planned = conn.exec_driver_sql("SELECT reltuples FROM pg_class "
                                           "WHERE oid = 'staging.stg_touched_key'::regclass").scalar_one()
            batch.rollback()
    assert planned == 5000
    with loader.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="not a table of the staging schema"):
        conn.exec_driver_sql("SELECT staging.analyze_staging_table('dw.fct_monthly_ytd')")
    with analyst.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="permission denied"):
        conn.exec_driver_sql("SELECT staging.analyze_staging_table('staging.stg_touched_key')")


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_the_loader_is_told_to_run_init_when_the_schema_must_change(engine, login, tmp_path):
    """Code deployed with new DDL but no `statwh init` as the owner: the loader's tasks stop with
    what to do, and the warehouse is left as it was (the schema change is one transaction)."""
    import shutil

    from etl.warehouse import SchemaChangeRefused, WAREHOUSE_TABLES, sql_files, table_contents

    newer = tmp_path / "warehouse_sql"
    shutil.copytree(sql_files()[0].parent.parent, newer)
    (newer / "85_analytics" / "analytics.v_region_count.sql").write_text(
        "-- v_region_count\n-- Grain: one row.\nCREATE OR REPLACE VIEW analytics.v_region_count AS "
        "SELECT COUNT(*) AS regions FROM dw.dim_region\n", encoding="utf-8")
    before = table_contents(engine, WAREHOUSE_TABLES + ("dw.meta_schema_version",))
    loader = login("statwh_loader")
    with pytest.raises(SchemaChangeRefused, match=r"Run 'statwh init' as the schema's owner"):
        apply_schema(loader, newer)
    assert table_contents(engine, WAREHOUSE_TABLES + ("dw.meta_schema_version",)) == before
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT to_regclass('analytics.v_region_count')")).scalar() is None
    assert apply_schema(engine, newer) > 0                     # the owner can
    assert apply_schema(loader, newer) == 0                    # and then the loader needs nothing
