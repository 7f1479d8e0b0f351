"""The README's example queries run against the sample on both warehouses."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.pipeline import ingest_file
from tests.conftest import REPO

QUERIES = re.findall(r"```sql\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.DOTALL)


def test_the_readme_has_example_queries():
    assert len(QUERIES) == 7


@pytest.fixture
def sample_warehouse(engine, sample_in_landing, landing):
    """The sample as recorded in January 2022, then a file rejected in February."""
    january = dt.datetime(2022, 1, 15, 8)
    for offset, path in enumerate(sorted(sample_in_landing)):
        assert ingest_file(path, engine, recorded_at=january + dt.timedelta(minutes=offset)).status == "loaded"
    rejected = Path(shutil.copy2(REPO / "tests" / "corpus" / "unknown_codes.csv", landing / "unknown_codes.csv"))
    assert ingest_file(rejected, engine, recorded_at=dt.datetime(2022, 2, 3, 9)).status == "rejected"
    return engine


def test_every_readme_query_runs_and_answers(sample_warehouse):
    answers = []
    with sample_warehouse.connect() as conn:
        for query in QUERIES:
            answers.append(conn.execute(sa.text(query)).fetchall())
    worst_first, ytd, as_of, today, incomplete, rejected, quality = answers
    assert round(worst_first[0].attainment_pct, 1) == 80.0             # fairs: 8 of 10
    assert len(ytd) == 12 and round(ytd[-1].growth_ytd_pct, 1) == 3.4
    assert {r.reported_growth_ytd_pct for r in ytd} == {None}          # the long format states no growth
    known_then = {r.indicator_code: r for r in as_of}                  # recorded 15 January 2022
    assert round(known_then["RETAIL"].attainment_pct, 1) == 89.1 and round(known_then["EXPORT"].attainment_pct, 1) == 101.3
    retail = next(r for r in today if r.indicator_code == "RETAIL")
    assert (retail.comparability, retail.min_members_reported, retail.members_expected) == ("incomplete", 1, 3)
    # every year of the sample has its months; a monthly index (IIP_MONTH), which has no annual
    # value by its rule, was listed here forever as 'not complete' with 12 months reported
    assert incomplete == []
    assert {r.file_name for r in rejected} == {"unknown_codes.csv"} and all(r.rule and r.message for r in rejected)
    assert {r.recorded_month_key for r in quality} == {202202}         # the month the rejected file came in
    assert all(r.batches_failing == 1 for r in quality)
