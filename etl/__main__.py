"""``python -m etl`` is ``statwh``."""

from etl.cli import run

run()
