"""Great Expectations Data Docs a steward can open without network access.

``build_data_docs`` makes a GX file context under the output folder, adds the suites kept
in ``expectations/``, validates the given submission files through GX checkpoints (the
same frames and parameters the pipeline validates), and builds the static site. Out of
the box the pages load Bootstrap, jQuery, vega and fonts from CDNs and would render bare
offline; every page is rewritten to use one local stylesheet instead, external scripts
and images are removed (the tables are rendered into the HTML by GX; the only loss is
vega's small distribution charts on some result pages).
"""

from __future__ import annotations

import datetime as dt
from html import escape
import json
import re
import shutil
from pathlib import Path

OFFLINE_CSS = """
body { font-family: "DejaVu Sans", "Segoe UI", Arial, sans-serif; margin: 0; color: #1f2933; background: #fff; }
.container, .container-fluid { max-width: 1200px; margin: 0 auto; padding: 0 1rem; }
nav, .navbar { background: #0f5257; color: #fff; padding: .6rem 1rem; }
nav a, .navbar a { color: #fff; }
h1, h2, h3, h4, h5 { color: #0f3d40; margin: 1rem 0 .5rem; }
a { color: #0b6e74; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: 14px; }
th, td { border: 1px solid #d5dde3; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef3f5; }
tr:nth-child(even) td { background: #fafcfd; }
.card { border: 1px solid #d5dde3; border-radius: 4px; margin: 0 0 1rem; }
.card-header { background: #eef3f5; padding: .5rem .75rem; font-weight: bold; }
.card-body { padding: .5rem .75rem; }
.badge, .label { display: inline-block; padding: 0 .4rem; border-radius: 3px; font-size: 12px; }
.text-success, .badge-success { color: #1b7f3b; } .text-danger, .badge-danger { color: #b42318; }
.text-warning, .badge-warning { color: #a15c00; } .text-muted { color: #6b7780; }
code, pre { background: #f3f5f7; padding: 0 .2rem; }
.col-md-2, .col-md-10, .col-12 { display: block; }
.statwh-offline-note { background: #fff8e1; border-bottom: 1px solid #e8d9a8; padding: .4rem 1rem; font-size: 13px; }
"""

_EXTERNAL_SCRIPT = re.compile(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', re.IGNORECASE)
_EXTERNAL_LINK = re.compile(r'<link[^>]*\bhref="https?://[^"]*"[^>]*>', re.IGNORECASE)
_EXTERNAL_IMG = re.compile(r'<img[^>]*\bsrc="https?://[^"]*"[^>]*>', re.IGNORECASE)
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)


def make_offline(site: Path) -> int:
    """Rewrite every page under ``site`` to need nothing from the network; returns pages rewritten."""
    (site / "statwh-offline.css").write_text(OFFLINE_CSS, encoding="utf-8")
    pages = 0
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        html = _EXTERNAL_SCRIPT.sub("", html)
        html = _INLINE_SCRIPT.sub("", html)  # inline scripts drive the CDN libraries removed above
        html = _EXTERNAL_LINK.sub("", html)
        html = _EXTERNAL_IMG.sub('<strong>Great Expectations · statwarehouse</strong>', html)
        depth = len(page.relative_to(site).parts) - 1
        stylesheet = f'<link rel="stylesheet" href="{"../" * depth}statwh-offline.css">'
        html = re.sub(r"</head>", stylesheet + "</head>", html, count=1, flags=re.IGNORECASE)
        note = ('<div class="statwh-offline-note">Offline copy of the Great Expectations Data Docs: '
                'styles are local, interactive charts are left out.</div>')
        if page == site / "index.html":
            note += _static_index(site)
        html = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + note, html, count=1, flags=re.IGNORECASE)
        page.write_text(html, encoding="utf-8")
        pages += 1
    return pages


def build_data_docs(out_dir: Path, files: list[Path] = ()) -> Path:
    """Build the offline Data Docs into ``out_dir`` (replaced); returns the index page."""
    import great_expectations as gx
    from great_expectations.checkpoint import UpdateDataDocsAction
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from etl.config import load_settings
    from etl.reference import load_reference
    from etl.submission import _suite_parameters, prepare_submission
    from etl.validation import load_suite_definition

    out_dir = Path(out_dir)
    if (out_dir / "gx").exists():
        shutil.rmtree(out_dir / "gx")
    out_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(out_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suites = {}
    for path in sorted(load_settings().expectations_dir.glob("*.json")):
        definition = json.loads(path.read_text(encoding="utf-8"))
        if "expectations" not in definition:
            continue
        load_suite_definition(path.stem)  # the same schema check as the pipeline
        suites[path.stem] = context.suites.add(
            ExpectationSuite(name=definition["name"], expectations=definition["expectations"],
                             meta={"source": f"expectations/{path.name}", **definition.get("meta", {})}))
    source = context.data_sources.add_pandas("submissions")
    parameters = _suite_parameters(load_reference(), dt.date.today())
    for path in files:
        prepared = prepare_submission(Path(path))
        if prepared.frame is None or prepared.kind is None:
            continue  # unreadable files have no table to document; their report says why
        name = re.sub(r"[^A-Za-z0-9_]+", "_", Path(path).stem)
        # One data asset and run name per file: the result pages then say which file they are
        # about ("Data asset: None", "Run Name __none__" on every page told a steward nothing).
        batch_definition = source.add_dataframe_asset(Path(path).name).add_batch_definition_whole_dataframe(
            "whole_file")
        validation = context.validation_definitions.add(gx.ValidationDefinition(
            name=f"{prepared.kind}__{name}", data=batch_definition, suite=suites[prepared.kind]))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=f"checkpoint__{name}", validation_definitions=[validation],
            actions=[UpdateDataDocsAction(name="update_data_docs")]))
        checkpoint.run(batch_parameters={"dataframe": prepared.frame}, expectation_parameters=parameters,
                       run_id=RunIdentifier(run_name=name))
    context.build_data_docs()
    site = out_dir / "gx" / "uncommitted" / "data_docs" / "local_site"
    make_offline(site)
    return site / "index.html"


def _static_index(site: Path) -> str:
    """The index's lists as plain links. GX fills its index tables from inline scripts (which the
    offline copy drops, with the CDN libraries they drive), so without this the index page was
    empty: no way to the results or the suites."""
    def links(folder: str) -> str:
        pages = sorted((site / folder).rglob("*.html")) if (site / folder).exists() else []
        items = "".join(f'<li><a href="{p.relative_to(site).as_posix()}">'
                        f'{escape(" / ".join(p.relative_to(site / folder).with_suffix("").parts))}</a></li>'
                        for p in pages)
        return f"<ul>{items}</ul>" if items else "<p>none</p>"

    return (f'<div class="container statwh-index"><h2>Validation results (suite / file / run time / batch)</h2>'
            f'{links("validations")}<h2>Expectation suites</h2>{links("expectations")}</div>')
