"""``statwh`` as a person runs it: real processes, real exit codes, real output."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE_DIR, write_csv

PLAN_GAP_KEYS = {"region_code", "indicator_code", "year", "actual", "actual_growth_pct", "target_kind",
                 "target_value", "planned_level", "attainment_pct", "gap_pp"}


def statwh(*args: str, env_home, module: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "STATWH_HOME": str(env_home)}
    command = [sys.executable, "-m", "etl", *args] if module else [str(REPO / ".venv" / "bin" / "statwh"), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture
def loaded_home(statwh_home):
    done = statwh("ingest", *map(str, sorted(SAMPLE_DIR.iterdir())), env_home=statwh_home)
    assert done.returncode == 0, done.stderr
    assert "3 files: 3 loaded, 0 rejected" in done.stdout
    return statwh_home


def test_plan_gap_json_after_ingest(loaded_home):
    done = statwh("plan-gap", "--year", "2021", "--region", "74", "--format", "json", env_home=loaded_home)
    assert done.returncode == 0, done.stderr
    rows = {r["indicator_code"]: r for r in json.loads(done.stdout)}
    assert all(PLAN_GAP_KEYS <= set(r) for r in rows.values())
    assert set(rows) == {"IIP", "RETAIL", "EXPORT", "IMPORT", "BOTT_REVENUE", "FAIRS"}
    assert round(rows["RETAIL"]["attainment_pct"], 1) == 89.1
    assert round(rows["RETAIL"]["gap_pp"], 1) == -12.6
    assert round(rows["IIP"]["gap_pp"], 2) == -4.69
    assert rows["FAIRS"]["target_kind"] == "level" and rows["FAIRS"]["gap_pp"] is None


def test_plan_gap_table_in_both_number_conventions(loaded_home):
    vi = statwh("plan-gap", "--year", "2021", env_home=loaded_home, module=True).stdout
    en = statwh("plan-gap", "--year", "2021", "--numbers", "en", env_home=loaded_home).stdout
    retail_vi = next(line for line in vi.splitlines() if "RETAIL" in line)
    retail_en = next(line for line in en.splitlines() if "RETAIL" in line)
    for token in ("231.578", "+3,4%", "89,1%", "−12,6"):
        assert token in retail_vi
    for token in ("231,578", "+3.4%", "89.1%", "−12.6"):
        assert token in retail_en


def test_rollup_csv(loaded_home):
    done = statwh("rollup", "--year", "2021", "--region", "83", "--format", "csv", env_home=loaded_home)
    rows = {r["indicator_code"]: r for r in csv.DictReader(io.StringIO(done.stdout))}
    assert float(rows["IMPORT"]["annual_value"]) == pytest.approx(900)
    assert round(float(rows["IMPORT"]["growth_pct"]), 2) == 80.07
    assert rows["WIND_MW"]["is_complete"] == "True"


def test_rollup_table_writes_levels_at_their_units_precision_and_takes_a_region_by_name(loaded_home):
    """The seed report's 99,99 % of households with electricity was shown as '100' (every level
    to 0,1), next to a growth of +0,01 %; levels are now written as the reports write them: a
    share or an index to 0,01, a count whole, others to 0,1. A province may be named."""
    by_code = statwh("rollup", "--year", "2021", "--region", "74", env_home=loaded_home).stdout
    by_name = statwh("rollup", "--year", "2021", "--region", "Tỉnh Bình Dương", env_home=loaded_home).stdout
    assert by_name == by_code
    header, rule, *lines = by_code.splitlines()
    # the columns as the rule under the header marks them (a name or unit may hold spaces)
    spans, start = [], 0
    for dashes in rule.split("  "):
        spans.append((start, start + len(dashes)))
        start += len(dashes) + 2
    table = [{header[a:b].strip(): line[a:b].strip() for a, b in spans} for line in lines]
    cells = {row["indicator"]: (row["annual"], row["previous year"]) for row in table}
    assert cells["HH_ELECTRIFIED_PCT"] == ("99,99", "99,98")
    assert cells["IIP"] == ("104,51", "108,02")
    assert cells["FAIRS"] == ("8", "9")
    assert cells["RETAIL"] == ("231.578", "223.963,2")


def test_a_reader_that_stops_reading_ends_the_command_quietly(loaded_home):
    """``statwh rollup … | head -1`` used to end in a BrokenPipeError traceback. Here the reader
    (``true``) is gone before the command, a second or so in, writes its answer."""
    env = {**os.environ, "STATWH_HOME": str(loaded_home)}
    done = subprocess.run(f"'{REPO / '.venv' / 'bin' / 'statwh'}' rollup --year 2021 | true; "
                          "echo \"exit ${PIPESTATUS[0]}\"", shell=True, executable="/bin/bash",
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.stdout.splitlines() == ["exit 141"]
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_rollup_table_says_a_monthly_index_has_no_annual_value(loaded_home):
    """IIP_MONTH's 2021 has all its months: complete, and the empty annual cell says why
    (it showed 'NO' and a bare '—', as if a month were missing)."""
    table = statwh("rollup", "--year", "2021", "--region", "74", env_home=loaded_home).stdout
    row = next(line for line in table.splitlines() if " IIP_MONTH " in line)
    assert re.search(r"IIP_MONTH +% +12 +yes +— +no annual value \(monthly index\) ", row), table
    assert " NO " not in table                                                   # the sample's years are whole


# Bình Dương 2021 as the seed report publishes it; summed from monthly figures in floating
# point these came out as 1730.8999999999999, 13999.999999999996, 31499.999999999996 and
# 24690.000000000004 in CSV and JSON before numbers were written without float noise.
PUBLISHED_74_2021 = {"BOTT_REVENUE": "1730.9", "ELEC_SOLD": "14000", "EXPORT": "31500", "IMPORT": "24690",
                     "RETAIL": "231578"}


def test_csv_and_json_carry_the_published_figures_without_float_noise(loaded_home):
    as_csv = statwh("rollup", "--year", "2021", "--region", "74", "--format", "csv", env_home=loaded_home)
    annual = {r["indicator_code"]: r["annual_value"] for r in csv.DictReader(io.StringIO(as_csv.stdout))}
    assert {code: annual[code] for code in PUBLISHED_74_2021} == PUBLISHED_74_2021
    as_json = statwh("rollup", "--year", "2021", "--region", "74", "--format", "json", env_home=loaded_home)
    records = json.loads(as_json.stdout)
    annual = {r["indicator_code"]: r["annual_value"] for r in records}
    assert {code: annual[code] for code in PUBLISHED_74_2021} == {c: float(v) for c, v in PUBLISHED_74_2021.items()}
    floats = [v for r in records for v in r.values() if isinstance(v, float)]
    assert floats and all(v == float(f"{v:.12g}") for v in floats)   # no digits beyond the 12th


def test_ingest_exits_non_zero_and_prints_where_the_problems_are(statwh_home, tmp_path):
    bad = write_csv(tmp_path, "bd_2021-12.csv", "region_code;indicator_code;period;value;unit;status\n"
                    "74;RETAIL;2021-12;21.000,5;tỷ đồng;official\n74;EXPORT;2021-12;ba nghìn;triệu USD;official\n")
    done = statwh("ingest", str(bad), env_home=statwh_home)
    assert done.returncode == 1
    assert "bd_2021-12.csv, row 3, column 'value'" in done.stdout and "ba nghìn" in done.stdout
    again = statwh("ingest", str(bad), env_home=statwh_home)     # the same bytes again
    assert again.returncode == 1
    assert "rejected earlier" in again.stdout and "row 3, column 'value'" in again.stdout
    assert "nanobind" not in done.stderr + again.stderr


def test_ingest_shows_the_warnings_of_a_file_it_loaded(statwh_home, tmp_path):
    """A file that loads with warnings says so at once, naming them; before, the steward saw
    'loaded' and found the warnings only as a count in `statwh batches`."""
    unbalanced = write_csv(tmp_path, "bd_2024-05.csv", "region_code;indicator_code;period;value;unit;status\n"
                           "74;EXPORT;2024-05;100,0;triệu USD;official\n74;IMPORT;2024-05;80,0;triệu USD;official\n"
                           "74;TRADE_BALANCE;2024-05;50,0;triệu USD;official\n")
    done = statwh("ingest", str(unbalanced), env_home=statwh_home)
    assert done.returncode == 0, done.stderr
    assert "1 files: 1 loaded" in done.stdout and "loaded with 1 warning: bd_2024-05.csv" in done.stdout
    assert "differs from exports minus imports" in done.stdout and "[trade_balance_is_exports_minus_imports]" in done.stdout
    assert "loaded (3 new or changed, 0 unchanged, 1 warning)" in done.stderr


def test_batches_shows_a_dash_for_what_an_unreadable_file_does_not_have(statwh_home, tmp_path):
    """An empty file has no kind: the table said 'None' (or 'nan') where every other missing
    value is '—'."""
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert statwh("ingest", str(empty), env_home=statwh_home).returncode == 1
    table = statwh("batches", env_home=statwh_home).stdout.splitlines()
    row = next(line for line in table if "empty.csv" in line).split()
    assert row[:5] == ["1", "empty.csv", "—", "—", "rejected"], table      # no kind, read as the file says
    rebuilt = statwh("rebuild", env_home=statwh_home)
    assert rebuilt.returncode == 0 and "dw.fct_annual_rollup: 0 rows written (missing or wrong before)" in rebuilt.stdout


def test_a_rejected_file_is_fixed_with_the_number_format_option_instead_of_editing_it(statwh_home, tmp_path):
    """The README's remedy for an ambiguous number works on the file already rejected; the same
    bytes sent again afterwards are the loaded batch, and exit 0."""
    amb = write_csv(tmp_path, "amb.csv", "region_code,indicator_code,period,value,unit,status\n"
                    "74,RETAIL,2024-01,231.578,tỷ đồng,official\n")
    assert statwh("ingest", str(amb), env_home=statwh_home).returncode == 1
    fixed = statwh("ingest", "--number-format", "vi", str(amb), env_home=statwh_home)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "1 files: 1 loaded, 0 rejected, 0 already processed; 1 new or changed figures" in fixed.stdout
    again = statwh("ingest", str(amb), env_home=statwh_home)
    assert again.returncode == 0, again.stdout
    assert "amb.csv: duplicate (already processed as batch 2 (loaded))" in again.stderr
    assert "rejected earlier" not in again.stdout
    batches = json.loads(statwh("batches", "--format", "json", env_home=statwh_home).stdout)
    assert [(b["batch_key"], b["status"], b["reading_options"]) for b in batches] == [
        (2, "loaded", "number_format=vi"), (1, "rejected", None)]
    table = statwh("batches", env_home=statwh_home).stdout
    assert "read as" in table and "number_format=vi" in table


def test_run_takes_the_landing_folder(statwh_home):
    for path in SAMPLE_DIR.iterdir():
        (statwh_home / "landing" / path.name).write_bytes(path.read_bytes())
    done = statwh("run", env_home=statwh_home)
    assert done.returncode == 0, done.stderr
    assert "[3/3]" in done.stderr and "3 loaded" in done.stdout
    batches = statwh("batches", "--format", "json", env_home=statwh_home)
    assert [b["status"] for b in json.loads(batches.stdout)] == ["loaded"] * 3


def test_ingest_of_a_folder_says_it_is_a_folder_and_how_to_ingest_its_files(statwh_home, tmp_path, capsys):
    """``statwh ingest FOLDER`` used to say ``no such file: FOLDER`` of a folder that exists;
    now it says what the folder is and what to do, and stops before any work."""
    from etl.cli import main

    folder = tmp_path / "thang_12"
    folder.mkdir()
    write_csv(folder, "bd_2021-12.csv", "region_code;indicator_code;period;value;unit;status\n")
    before = _written_under(statwh_home)
    assert main(["ingest", str(folder), str(tmp_path / "missing.csv")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"no such file: {tmp_path / 'missing.csv'}",
        f"{folder} is a folder, not a file: name the files in it (statwh ingest {folder / '*'})",
        f"or put the files in the landing folder ({statwh_home / 'landing'}) and run 'statwh run'"]
    assert _written_under(statwh_home) == before           # no warehouse made, nothing ingested
    done = statwh("ingest", str(folder), env_home=statwh_home)
    assert done.returncode == 2 and f"{folder} is a folder, not a file" in done.stderr


def test_a_month_not_written_yyyy_mm_is_refused_before_any_work(statwh_home, capsys):
    """``--month 2021-13`` used to assess reporting (writing to the warehouse) and then show
    an empty table; now the command stops at the argument and touches nothing."""
    from etl.cli import main

    for month in ("2021-13", "12/2021", "2021-1"):
        with pytest.raises(SystemExit) as stopped:
            main(["completeness", "--month", month])
        assert stopped.value.code == 2
        assert "write the month as YYYY-MM" in capsys.readouterr().err
    assert not list(statwh_home.glob("*.duckdb"))


def _written_under(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*"))


@pytest.mark.parametrize("argv, refusal", [
    (["rollup", "--year", "2021", "--as-of", "2021-13-01"],
     "argument --as-of: '2021-13-01': write a date as YYYY-MM-DD, e.g. 2021-12-31"),
    (["plan-gap", "--year", "2021", "--as-of", "31/12/2021"],
     "argument --as-of: '31/12/2021': write a date as YYYY-MM-DD, e.g. 2021-12-31"),
    (["completeness", "--as-of", "2024-02-30"],
     "argument --as-of: '2024-02-30': write a date as YYYY-MM-DD, e.g. 2021-12-31"),
    (["rollup", "--year", "2021", "--as-of", "2021-12-31T25:00"], "argument --as-of: '2021-12-31T25:00': write"),
    (["batches", "--last", "-1"], "argument --last: '-1': write how many as a whole number, 1 or more"),
    (["batches", "--last", "0"], "argument --last: '0': write how many as a whole number, 1 or more"),
    (["batches", "--last", "2.5"], "argument --last: '2.5': write how many as a whole number, 1 or more"),
    (["plan-gap", "--year", "21"], "argument --year: '21': write the year with four digits, e.g. 2021"),
    (["revisions", "--year", "-2021"], "argument --year: '-2021': write the year with four digits"),
    (["report", "--year", "2021/22"], "argument --year: '2021/22': write the year with four digits"),
    (["plan-gap", "--year", "2021", "--region", "99"],
     "argument --region: '99': no region has this code or name; give the GSO code, e.g. 74 for Bình Dương"),
    (["rollup", "--year", "2021", "--region", "Bình Dươngg"], "argument --region: 'Bình Dươngg': no region has"),
])
def test_a_date_year_or_count_written_wrong_is_refused_before_any_work(statwh_home, capsys, argv, refusal):
    """These used to end in a ValueError traceback (an impossible date), a database error
    (LIMIT -1), or an empty answer for the year 21; now argparse refuses the argument."""
    from etl.cli import main

    before = _written_under(statwh_home)
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert refusal in capsys.readouterr().err
    assert _written_under(statwh_home) == before           # no warehouse made, nothing assessed


def test_the_statwh_command_refuses_a_bad_date_or_count_without_a_traceback(statwh_home):
    for argv, option in ((["completeness", "--as-of", "2024-02-30"], "--as-of"),
                         (["batches", "--last", "-1"], "--last")):
        done = statwh(*argv, env_home=statwh_home)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert f"statwh {argv[0]}: error: argument {option}: " in done.stderr
    assert not list(statwh_home.glob("*.duckdb"))
    done = statwh("batches", "--last", "1", "--format", "json", env_home=statwh_home)   # a good count still works
    assert (done.returncode, json.loads(done.stdout)) == (0, [])


def test_completeness_of_a_month_is_assessed_as_of_the_instant_asked_not_left_from_an_earlier_call(loaded_home):
    """December 2021 as of 31 January 2022 (deadline 20 January): nothing had arrived. Asked again
    without --as-of, the month is assessed as of now, however old it is: the sample's reports
    are in (late: they were loaded today). The question about the past changed nothing stored."""
    def december(*options: str) -> dict:
        done = statwh("completeness", "--month", "2021-12", *options, "--format", "json", env_home=loaded_home)
        assert done.returncode == 0, done.stderr
        return {r["department_code"]: (r["expected"], r["received"], r["late"], r["missing"])
                for r in json.loads(done.stdout)}

    now = {"SCT-BD": (10, 10, 10, 0), "SCT-BT": (5, 5, 5, 0)}
    assert december() == now
    assert december("--as-of", "2022-01-31") == {"SCT-BD": (10, 0, 0, 10), "SCT-BT": (5, 0, 0, 5)}
    assert december() == now
    recent = statwh("completeness", "--format", "json", env_home=loaded_home)  # the last 13 months only
    assert recent.returncode == 0, recent.stderr
    assert not [r for r in json.loads(recent.stdout) if r["month_key"] <= 202112]
    # before its deadline nothing of December is due: no rate, shown as '—' (it was '—%' beside
    # the months that have one)
    # the reports it is waiting for are shown as not yet due (they were in the JSON only)
    table = statwh("completeness", "--as-of", "2021-12-31", env_home=loaded_home).stdout.splitlines()
    assert table[0].split() == ["department", "month", "expected", "not", "yet", "due", "received", "on", "time",
                                "late", "missing", "completeness", "timeliness"], table
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in table if line.startswith("SCT-BD")}
    assert rows[("SCT-BD", "202111")] == ["10", "0", "0", "0", "0", "10", "0%", "0%"], table
    assert rows[("SCT-BD", "202112")] == ["0", "10", "0", "0", "0", "0", "—", "—"], table


def _waiting_for_flock(pid: int) -> bool:
    """Whether process ``pid`` is blocked waiting for a flock (Linux's /proc/locks lists
    waiters as '-> FLOCK ... WRITE <pid> ...')."""
    return any(line.split()[1:3] == ["->", "FLOCK"] and line.split()[5] == str(pid)
               for line in Path("/proc/locks").read_text().splitlines())


def _wait_until_blocked_on_flock(process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 120
    while not _waiting_for_flock(process.pid):
        assert process.poll() is None, f"{what} did not wait: {process.communicate()}"
        assert time.monotonic() < deadline, f"{what} neither waited nor finished"
        time.sleep(0.1)


def test_a_query_waits_while_another_process_has_the_embedded_warehouse_open(statwh_home):
    """DuckDB refuses a second process outright, readers too: ``statwh batches`` run while an
    ingest had the file open used to die with "Could not set lock on file". Now it says it is
    waiting, waits, and answers once the other process closes the file."""
    from etl.warehouse import make_engine, prepare_warehouse

    engine = make_engine(f"duckdb:///{statwh_home / 'statwh.duckdb'}")
    prepare_warehouse(engine)
    env = {**os.environ, "STATWH_HOME": str(statwh_home)}
    with engine.connect() as busy:                               # e.g. an ingest mid-batch
        busy.exec_driver_sql("SELECT count(*) FROM dw.fct_monthly_figure_version").scalar_one()
        query = subprocess.Popen([str(REPO / ".venv" / "bin" / "statwh"), "batches"], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_until_blocked_on_flock(query, "the query")
    out, err = query.communicate(timeout=300)
    assert query.returncode == 0, err
    assert "(no rows)" in out
    assert "waiting for another statwarehouse process to finish with" in err and "Could not set lock" not in err


def test_connections_inside_a_held_turn_pass_and_the_turn_is_given_back(statwh_home):
    """Within one process the turn is counted: connections from two threads inside an ingest's
    turn do not wait for it, and once every connection is closed, or dropped unclosed, another
    process can take the file at once."""
    import gc
    import threading

    from etl.warehouse import make_engine, one_writer, prepare_warehouse

    database = statwh_home / "statwh.duckdb"
    engine = make_engine(f"duckdb:///{database}")
    prepare_warehouse(engine)
    probe = [sys.executable, "-c", "import fcntl, sys; fcntl.flock(open(sys.argv[1], 'a+b'), "
             "fcntl.LOCK_EX | fcntl.LOCK_NB)", f"{database}.writer.lock"]

    def count_months(results: list) -> None:
        with engine.connect() as conn:
            results.append(conn.exec_driver_sql("SELECT count(*) FROM dw.dim_month").scalar_one())

    results: list[int] = []
    with one_writer(engine):
        threads = [threading.Thread(target=count_months, args=(results,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(results) == 2 and results[0] > 0, "a connection inside the held turn waited for it"
        assert subprocess.run(probe).returncode != 0, "another process got the file during the turn"
    assert subprocess.run(probe).returncode == 0, "the turn was not given back"

    dropped = engine.raw_connection()                            # never closed, only dropped
    assert subprocess.run(probe).returncode != 0
    del dropped
    gc.collect()
    assert subprocess.run(probe).returncode == 0, "a dropped connection kept the turn"


def test_an_ingest_waits_while_another_writes_the_embedded_warehouse(statwh_home):
    """DuckDB lets one process write a file at a time and refuses the others outright: an
    ingest (CLI, or an Airflow task beside another) waits for the one already writing."""
    from etl.warehouse import make_engine, one_writer, prepare_warehouse

    engine = make_engine(f"duckdb:///{statwh_home / 'statwh.duckdb'}")
    prepare_warehouse(engine)
    monthly = str(SAMPLE_DIR / "74_binh_duong_2020-2022.csv")
    env = {**os.environ, "STATWH_HOME": str(statwh_home)}
    with one_writer(engine):                                     # another ingest is writing
        waiting = subprocess.Popen([str(REPO / ".venv" / "bin" / "statwh"), "ingest", monthly], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_until_blocked_on_flock(waiting, "the ingest")
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert "1 files: 1 loaded" in out


def test_a_file_this_user_may_not_read_is_reported_and_the_others_are_ingested(tmp_path):
    """`chmod 000` on one of three files: the command said 'Permission denied' and stopped, the
    third file never read. Root reads every file, so as root the command runs as 'nobody' (in a
    folder of /tmp: pytest's own are closed to other users)."""
    as_root = os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="statwh-unreadable-")) if as_root else tmp_path
    try:
        _ingest_with_one_file_locked(folder)
    finally:
        if as_root:
            shutil.rmtree(folder)


def _ingest_with_one_file_locked(tmp_path: Path) -> None:
    home, folder = tmp_path / "home", tmp_path / "files"
    folder.mkdir()
    (folder / "aa.csv").write_text("region_code;indicator_code;period;value;unit;status\n"
                                   "74;EXPORT;2021-12;2.750,8;triệu USD;official\n", encoding="utf-8")
    (folder / "locked.csv").write_text((folder / "aa.csv").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "zz.csv").write_text((folder / "aa.csv").read_text(encoding="utf-8").replace("2021-12", "2021-11"),
                                   encoding="utf-8")
    command = [str(REPO / ".venv" / "bin" / "statwh"), "ingest", "aa.csv", "locked.csv", "zz.csv"]
    if os.geteuid() == 0:
        home.mkdir()
        for path in (tmp_path, home, folder, *folder.iterdir()):
            os.chown(path, 65534, 65534)  # nobody
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    (folder / "locked.csv").chmod(0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATWH_")}
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300,
                          env={**env, "STATWH_HOME": str(home), "HOME": str(home)})

    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[:3] == [
        "3 files: 2 loaded, 0 rejected, 0 already processed; 2 new or changed figures; 1 could not be read",
        "  not read: locked.csv, left where it is",
        "    locked.csv: the file cannot be read (Permission denied): let the warehouse read it (its permissions, "
        "or close the program that holds it) and ingest it again [file_readable]"], done.stderr
    assert "Traceback" not in done.stderr


def test_an_empty_completeness_table_says_why(statwh_home):
    """The last 13 months (the default) hold no obligation once the sample's end (2025-06): the
    table said '(no rows)' and nothing else, which reads as 'nothing missing'."""
    done = statwh("completeness", env_home=statwh_home)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "(no rows)"
    assert ("no department had reports due in these months: the obligations in "
            "etl/reference/reporting_obligations.csv run from 2020-01 to 2025-06") in done.stderr
