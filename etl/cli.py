"""``statwh``: the command line for people (the nightly DAG calls the same functions).

    statwh init                          create the warehouse schema and load reference data
    statwh ingest PATH...                ingest files (exit 1 if any was rejected)
    statwh run                           the nightly pipeline over the landing folder
    statwh plan-gap --year 2021          actual against plan
    statwh rollup --year 2021            annual rollups and growth (both take --as-of DATE)
    statwh revisions [--year 2021]       revisions from first report to latest
    statwh batches [--last N]            the files processed most recently
    statwh completeness [--month M]      reporting rates: expected, on time, late, missing
    statwh sample [--to DIR]             write the bundled sample files
    statwh rebuild                       recompute every rollup from the current figures
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from etl.config import load_settings

T = TypeVar("T")


def _engine_and_settings():
    from etl.warehouse import make_engine, prepare_warehouse

    settings = load_settings()
    settings.ensure_folders()
    engine = make_engine(settings.warehouse_url)
    prepare_warehouse(engine)
    return engine, settings


def _progress(index: int, total: int, result) -> None:
    from etl.pipeline import count_of

    detail = {
        "loaded": f"{result.rows_new_version} new or changed, {result.rows_unchanged} unchanged"
                  + (f", {count_of(len(result.problems), 'warning')}" if result.problems else ""),
        "rejected": f"{len(result.problems)} problems -> {result.kept_at}",
        "duplicate": f"already processed as batch {result.batch_key} ({result.duplicate_of_status})",
        "unreadable": "left where it is: " + "; ".join(p["message"] for p in result.problems),
    }[result.status]
    print(f"[{index}/{total}] {result.file}: {result.status} ({detail})", file=sys.stderr, flush=True)


def cmd_init(args) -> int:
    engine, settings = _engine_and_settings()
    print(f"warehouse ready at {engine.url.render_as_string(hide_password=True)}")
    print(f"landing folder: {settings.landing_dir}")
    return 0


def cmd_ingest(args) -> int:
    from etl.pipeline import ingest_paths

    paths = [Path(p) for p in args.paths]
    # Checked before the warehouse is opened: a wrong argument should change nothing.
    refusals = _not_files(paths)
    if refusals:
        print("\n".join(refusals), file=sys.stderr)
        return 2
    engine, settings = _engine_and_settings()
    summary = ingest_paths(paths, engine, settings, number_format=args.number_format, progress=_progress,
                           encoding=args.encoding)
    print(summary.describe())
    return 1 if summary.refused else 0


def _not_files(paths: list[Path]) -> list[str]:
    """Why each of ``paths`` that is not a file cannot be ingested. A folder used to be
    reported as "no such file", which sends the clerk looking for a typo in a path that exists."""
    refusals = []
    folders = [p for p in paths if p.is_dir()]
    for folder in folders:
        refusals.append(f"{folder} is a folder, not a file: name the files in it "
                        f"(statwh ingest {folder / '*'})")
    if folders:  # `statwh run` takes a folder, but only the landing folder: say which one it is
        refusals.append(f"or put the files in the landing folder ({load_settings().landing_dir}) "
                        "and run 'statwh run'")
    missing = [p for p in paths if not p.exists()]
    if missing:
        refusals.insert(0, "no such file: " + ", ".join(map(str, missing)))
    others = [p for p in paths if p.exists() and not p.is_dir() and not p.is_file()]
    if others:
        refusals.append("not a regular file: " + ", ".join(map(str, others)))
    return refusals


def cmd_run(args) -> int:
    from etl.pipeline import run_landing

    engine, settings = _engine_and_settings()
    summary = run_landing(engine, settings, progress=_progress)
    print(summary.describe())
    return 1 if summary.refused else 0


def cmd_plan_gap(args) -> int:
    from etl.queries import plan_gap, render_plan_gap

    engine, _ = _engine_and_settings()
    print(render_plan_gap(plan_gap(engine, args.year, args.region, args.as_of), args.format, args.numbers))
    return 0


def cmd_rollup(args) -> int:
    from etl.queries import annual_rollup, render_rollup

    engine, _ = _engine_and_settings()
    print(render_rollup(annual_rollup(engine, args.year, args.region, args.as_of), args.format, args.numbers))
    return 0


def cmd_revisions(args) -> int:
    from etl.queries import REVISION_TABLE, render, revision_summary

    engine, _ = _engine_and_settings()
    print(render(revision_summary(engine, args.year), args.format, REVISION_TABLE, args.numbers))
    return 0


def cmd_batches(args) -> int:
    from etl.queries import BATCH_TABLE, load_batches, render

    engine, _ = _engine_and_settings()
    print(render(load_batches(engine, args.last), args.format, BATCH_TABLE))
    return 0


# --------------------------------------------------------------------------- argument types
# Each option's value is checked by argparse (``type=``), so a mistyped value stops the command
# with "error: argument --x: ..." and exit code 2 before it opens the warehouse or writes
# anything, instead of a traceback from deep inside (or a silently empty answer).


def _read_as(read: Callable[[str], T], text: str) -> T:
    """``read(text)``, its ValueError (whose message says how to write the value) made argparse's."""
    try:
        return read(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _year_month(text: str) -> str:
    """An argument written YYYY-MM with a real month."""
    from etl.completeness import year_month

    _read_as(year_month, text)
    return text.strip()


#: how an ``--as-of`` is written. A date-time without an offset is UTC, as the warehouse's own
#: ``known_from`` and ``known_until`` are (copied from a history view, it means what it says there).
_AS_OF_FORMS = ("a date (the end of that day, Vietnam time) or an ISO date-time, with its offset "
                "(2021-12-31T17:00+07:00) or in UTC without one, like the history views' known_from")


def _instant(text: str) -> dt.datetime:
    """An ``--as-of`` date or date-time, as the UTC instant it means (:func:`etl.queries.as_of_instant`)."""
    from etl.queries import as_of_instant

    return _read_as(as_of_instant, text)


def region_argument(text: str) -> str:
    """A ``--region`` of the answers: a GSO code (``74``; ``1`` is ``01``, as Excel writes it) or a
    unit's name (``Bình Dương``, ``TP.HCM``). A code or name the reference does not know stops the
    command, instead of answering with an empty table as if the province had no figures."""
    from etl.reference import load_reference
    from etl.report_layout import region_codes_by_name

    reference = load_reference()
    code = text.strip()
    code = "0" + code if re.fullmatch(r"\d", code) else code
    if code in set(reference.regions["region_code"]):
        return code
    named = region_codes_by_name(text, reference)
    if len(named) == 1:
        return named[0]
    if named:  # two units of the name with different codes: the user must say which
        raise argparse.ArgumentTypeError(f"{text!r} names units of several codes ({', '.join(named)}): give the code")
    raise argparse.ArgumentTypeError(f"{text!r}: no region has this code or name; give the GSO code, "
                                     "e.g. 74 for Bình Dương (see etl/reference/regions.csv)")


def year_argument(text: str) -> int:
    """A ``--year`` written with four digits: ``--year 21`` would otherwise ask for the year 21 and
    show an empty table."""
    if not re.fullmatch(r"\d{4}", text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r}: write the year with four digits, e.g. 2021")
    return int(text)


def _count(text: str) -> int:
    """How many items to show: a whole number, 1 or more."""
    if not re.fullmatch(r"\d+", text.strip()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: write how many as a whole number, 1 or more, e.g. 20")
    return int(text)


def cmd_completeness(args) -> int:
    from etl.completeness import reporting_completeness
    from etl.queries import COMPLETENESS_TABLE, render

    engine, _ = _engine_and_settings()
    month_key = int(args.month.replace("-", "")) if args.month else None
    assessed = reporting_completeness(engine, args.as_of, month_key)
    print(render(assessed, args.format, COMPLETENESS_TABLE))
    if assessed.empty and args.format == "table":  # say why, or an empty table reads as "all is well"
        print(_no_reports_due(), file=sys.stderr)
    return 0


def _no_reports_due() -> str:
    """Why a completeness table is empty: no obligation covers the months shown."""
    from etl.completeness import load_obligations

    obligations = load_obligations()
    if obligations.empty:
        return "no reporting obligations: etl/reference/reporting_obligations.csv lists none"
    first, last = obligations["first_month_key"].min(), obligations["last_month_key"].max()
    span = f"{first // 100}-{first % 100:02d} to " + ("now" if last >= 999912 else f"{last // 100}-{last % 100:02d}")
    return (f"no department had reports due in these months: the obligations in "
            f"etl/reference/reporting_obligations.csv run from {span}; ask for one of those with --month YYYY-MM")


def cmd_data_docs(args) -> int:
    from etl.data_docs import build_data_docs

    index = build_data_docs(Path(args.to), [Path(p) for p in args.files])
    print(f"Data Docs (offline): {index}")
    return 0


def cmd_sample(args) -> int:
    from etl.sample_data import write_sample

    for path in write_sample(Path(args.to) if args.to else load_settings().landing_dir):
        print(path)
    return 0


def cmd_template(args) -> int:
    from etl.report_template import write_template

    try:
        path = write_template(args.region, args.month, Path(args.out) if args.out else None)
    except ValueError as exc:
        print(f"statwh template: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


def cmd_rebuild(args) -> int:
    from etl.warehouse import rebuild_rollups

    engine, _ = _engine_and_settings()
    for fact, rows in rebuild_rollups(engine).items():  # rows already right are left as they are
        print(f"{fact}: {rows} rows written (missing or wrong before)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="statwh", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("init", help="create the warehouse and load reference data").set_defaults(func=cmd_init)

    ingest = sub.add_parser("ingest", help="ingest submission and plan files")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument("--number-format", choices=("vi", "en"),
                        help="how numbers are written (default: declared in the file, or detected)")
    ingest.add_argument("--encoding", metavar="NAME",
                        help="encoding of CSV files that are neither UTF-8 nor marked with a byte-order mark, "
                             "e.g. cp1258 (default: a '# encoding:' line in the file; Windows-1258 is "
                             "recognised when all its letters are Vietnamese)")
    ingest.set_defaults(func=cmd_ingest)

    sub.add_parser("run", help="ingest every file in the landing folder").set_defaults(func=cmd_run)

    for name, func, help_text in (
        ("plan-gap", cmd_plan_gap, "actual against plan targets"),
        ("rollup", cmd_rollup, "annual rollups and growth"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--year", type=year_argument, required=True)
        p.add_argument("--region", type=region_argument, help="GSO region code (e.g. 74) or name (Bình Dương)")
        p.add_argument("--format", choices=("table", "csv", "json"), default="table")
        p.add_argument("--numbers", choices=("vi", "en"), default="vi",
                       help="number convention of the table (default vi: 231.578,5)")
        p.add_argument("--as-of", type=_instant, metavar="DATE",
                       help="answer with what the warehouse knew then: " + _AS_OF_FORMS)
        p.set_defaults(func=func)

    revisions = sub.add_parser("revisions", help="how much first reports were revised")
    revisions.add_argument("--year", type=year_argument)
    revisions.add_argument("--format", choices=("table", "csv", "json"), default="table")
    revisions.add_argument("--numbers", choices=("vi", "en"), default="vi")
    revisions.set_defaults(func=cmd_revisions)

    batches = sub.add_parser("batches", help="the files processed most recently")
    batches.add_argument("--last", type=_count, default=20, metavar="N", help="how many (default 20)")
    batches.add_argument("--format", choices=("table", "csv", "json"), default="table")
    batches.set_defaults(func=cmd_batches)

    completeness = sub.add_parser("completeness", help="reports expected, received, on time, late, missing")
    completeness.add_argument("--month", type=_year_month, help="YYYY-MM (default: the last 13 months)")
    completeness.add_argument("--as-of", type=_instant, metavar="DATE",
                              help="assess as of then (default: now): " + _AS_OF_FORMS)
    completeness.add_argument("--format", choices=("table", "csv", "json"), default="table")
    completeness.set_defaults(func=cmd_completeness)

    docs = sub.add_parser("data-docs", help="Great Expectations Data Docs that open offline")
    docs.add_argument("--to", required=True, help="output folder")
    docs.add_argument("files", nargs="*", metavar="FILE", help="submissions whose validation to include")
    docs.set_defaults(func=cmd_data_docs)

    sample = sub.add_parser("sample", help="write the bundled sample files")
    sample.add_argument("--to", help="folder (default: the landing folder)")
    sample.set_defaults(func=cmd_sample)

    sub.add_parser("rebuild", help="recompute every rollup").set_defaults(func=cmd_rebuild)
    template = sub.add_parser("template", help="a blank monthly report (XLSX) for a department to fill in")
    template.add_argument("--region", required=True, help="GSO region code, e.g. 74")
    template.add_argument("--month", required=True, help="YYYY-MM, e.g. 2021-12")
    template.add_argument("--out", metavar="PATH", help="file to write (default: bao_cao_thang_REGION_MONTH.xlsx)")
    template.set_defaults(func=cmd_template)
    from etl import dictionary, export, reports  # subcommands that register themselves

    reports.register(sub)
    export.register(sub)
    dictionary.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # the CLI prints its own report of every file
        logging.getLogger("etl.pipeline").setLevel(logging.ERROR)
    return args.func(args)


def exit_without_teardown(code: int) -> None:
    """Exit after flushing, skipping interpreter teardown.

    With Great Expectations loaded, duckdb's nanobind bindings print a page of benign
    "nanobind: leaked instances" diagnostics at shutdown (module-level type objects still
    referenced). They would bury the command's real output, so the process ends here.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run() -> None:
    """Console-script entry point."""
    try:
        code = main()
    except KeyboardInterrupt:
        code = 130
    except SystemExit as exc:  # argparse errors and --help
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        if exc.code not in (None, 0) and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except BrokenPipeError:  # the reader stopped reading (statwh rollup ... | head): not an error to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the final flush cannot fail again
        code = 141  # as a program killed by SIGPIPE, which shells report for the other commands of a pipe
    except PermissionError as exc:  # e.g. etl.warehouse.SchemaChangeRefused: says what to do
        print(f"statwh: {exc}", file=sys.stderr)
        code = 1
    except Exception:  # print the traceback, then exit quietly like every other path
        import traceback

        traceback.print_exc()
        code = 1
    exit_without_teardown(code)


if __name__ == "__main__":
    run()
