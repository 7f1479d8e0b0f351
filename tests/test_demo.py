"""``make demo`` — the newcomer's first command — prints the seeds' 2021 figures."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import REPO


def test_make_demo_prints_the_2021_plan_gap(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STATWH_", "AIRFLOW"))}
    done = subprocess.run(["make", "-s", "demo", f"STATWH_HOME={tmp_path / 'var'}"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = {line.split()[2]: line for line in done.stdout.splitlines() if line.startswith(("Bình Dương", "Bến Tre"))
             and len(line.split()) > 3}
    for indicator, tokens in {
        "RETAIL": ("231.578", "+3,4%", "89,1%", "−12,6"),
        "EXPORT": ("31.500", "101,3%"),
        "IMPORT": ("101,5%",),
        "IIP": ("−4,69",),
        "BOTT_REVENUE": ("101,2%",),
        "FAIRS": ("80%",),
        "WIND_MW": ("100%",),
    }.items():
        line = next(v for k, v in lines.items() if indicator in v.split())
        for token in tokens:
            assert token in line, (indicator, token, line)
    assert "3 files" not in done.stderr
    # what the run itself did (run again, it says "0 loaded, … 3 already processed" above the same batches)
    assert "== this run: 3 files: 3 loaded, 0 rejected, 0 already processed; 552 new or changed figures" in done.stdout
    assert (tmp_path / "var" / "statwh.duckdb").exists()
