"""PostgreSQL roles: the analyst reads the analytics views and nothing else; the loader runs
the pipeline but cannot change the schema. Real logins against the real server."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from etl.pipeline import ingest_paths
from etl.warehouse import prepare_warehouse

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
