"""The README's example queries run against the sample on both warehouses."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from etl.pipeline import ingest_paths
from tests.conftest import REPO

QUERIES = re.findall(r"```sql\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.DOTALL)


def test_the_readme_has_example_queries():
    assert len(QUERIES) >= 6


@pytest.fixture
def sample_warehouse(engine, sample_in_landing):
    ingest_paths(sample_in_landing, engine)
    return engine


def test_every_readme_query_runs_and_answers(sample_warehouse):
    answers = []
    with sample_warehouse.connect() as conn:
        for query in QUERIES:
            answers.append(conn.execute(sa.text(query)).fetchall())
    worst_first, ytd, as_of, today, incomplete, rejected = answers[:6]
    assert round(worst_first[0].attainment_pct, 1) == 80.0             # fairs: 8 of 10
    assert len(ytd) == 12 and round(ytd[-1].growth_ytd_pct, 1) == 3.4
    assert as_of == []                                                  # the sample arrived later than that
    retail = next(r for r in today if r.indicator_code == "RETAIL")
    assert (retail.comparability, retail.min_members_reported, retail.members_expected) == ("incomplete", 1, 3)
    assert {(r.region_code, r.indicator_code) for r in incomplete} == {("74", "IIP_MONTH")}
    assert rejected == []
