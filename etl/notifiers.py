"""Airflow notifier: a failed task of the pipeline itself alerts the stewards.

Imported by DAG files at parse time, so it imports nothing heavy until it fires.
"""

from __future__ import annotations

import logging

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)


class TaskFailureAlert(BaseNotifier):
    """``on_failure_callback=TaskFailureAlert()``: e-mail / webhook per etl.alerts settings,
    deduplicated per DAG and task until the error changes or a later run succeeds."""

    template_fields = ()

    def notify(self, context) -> None:
        from etl.alerts import Alert, dispatch, deliver, AlertSettings

        ti = context.get("ti") or context.get("task_instance")
        dag_id = getattr(ti, "dag_id", "?")
        task_id = getattr(ti, "task_id", "?")
        error = context.get("exception")
        alert = Alert(
            kind="task_failure",
            severity="error",
            fingerprint=f"task:{dag_id}:{task_id}",
            subject=f"[statwh][error] Pipeline task failed: {dag_id}.{task_id}",
            body="\n".join([
                f"The task {task_id} of {dag_id} failed (run {context.get('run_id')}, "
                f"try {getattr(ti, 'try_number', '?')}).",
                f"Error: {error!r}",
                "Files that were not processed stay in the landing folder for the next run.",
            ]),
            payload={"dag_id": dag_id, "task_id": task_id, "error": repr(error)},
        )
        try:
            from etl.config import load_settings
            from etl.warehouse import make_engine

            dispatch([alert], make_engine(load_settings().warehouse_url))
        except Exception:  # noqa: BLE001 - the warehouse may be what failed: send without dedup
            log.exception("alert deduplication unavailable; sending directly")
            deliver(alert, AlertSettings.from_env())
