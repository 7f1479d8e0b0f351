"""Alerts that arrive: a real SMTP server (aiosmtpd) and a real HTTP receiver on localhost."""

from __future__ import annotations

import sqlalchemy as sa

import pytest

from etl.alerts import Alert, AlertSettings, alerts_from_results, dispatch, resolve
from etl.pipeline import ingest_file
from tests.conftest import write_csv

HEADER = "region_code;indicator_code;period;value;unit;status\n"


BAD = HEADER + "74;RETAIL;2021-12;21.000,5;tỷ đồng;official\n74;EXPORT;2021-12;ba nghìn;triệu USD;official\n"


def test_a_rejection_reaches_the_steward_by_mail_and_webhook_once(engine, landing, alert_env):
    inbox, posts = alert_env
    result = ingest_file(write_csv(landing, "bd_2021-12.csv", BAD), engine)
    alerts, _ = alerts_from_results([result.to_dict()], "run-1")
    report = dispatch(alerts, engine)
    assert len(report.sent) == 1

    [mail] = inbox.messages
    assert mail["Subject"] == "[statwh][error] Rejected: bd_2021-12.csv (1 problems)"
    assert mail["To"] == "steward@soct.example, team@soct.example"
    body = mail.get_payload(decode=True).decode()
    assert "bd_2021-12.csv, row 3, column 'value'" in body and "'ba nghìn'" in body and "number_readable" in body
    [post] = posts
    assert post["kind"] == "rejected_submission" and post["severity"] == "error"
    assert post["payload"]["file"] == "bd_2021-12.csv"
    assert [(p["row"], p["column"], p["value"], p["rule"]) for p in post["payload"]["problems"]] == [
        (3, "value", "ba nghìn", "number_readable")]

    # The same file again the next night: known rejection, same problems -> not re-sent
    again = ingest_file(write_csv(landing, "bd_2021-12.csv", BAD), engine)
    alerts, _ = alerts_from_results([again.to_dict()], "run-2")
    report = dispatch(alerts, engine)
    assert (len(report.sent), len(report.suppressed)) == (0, 1)
    assert len(inbox.messages) == 1 and len(posts) == 1

    # Re-sent with another mistake: the problem changed -> alerted again
    changed = ingest_file(write_csv(landing, "bd_2021-12.csv", BAD.replace("ba nghìn", "3.100,5").replace(
        "2021-12;21", "2099-12;21")), engine)
    dispatch(alerts_from_results([changed.to_dict()], "run-3")[0], engine)
    assert len(inbox.messages) == 2 and "period_not_in_future" in inbox.messages[1].get_payload(decode=True).decode()

    # Fixed: loaded under the same name -> the alert is resolved, and a later relapse is news
    fixed = ingest_file(write_csv(landing, "bd_2021-12.csv", BAD.replace("ba nghìn", "3.100,5")), engine)
    assert fixed.status == "loaded"
    alerts, cleared = alerts_from_results([fixed.to_dict()], "run-4")
    assert alerts == [] and resolve(engine, cleared) == ["submission:bd_2021-12.csv"]
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT send_count, suppressed_count, resolved_at IS NOT NULL FROM dw.audit_alert "
                                   "WHERE fingerprint = 'submission:bd_2021-12.csv'")).one()
    assert tuple(row) == (2, 1, True)


def test_an_alert_recorded_before_a_channel_existed_reaches_it_once(engine, alert_env):
    """A server that ran without SMTP and webhook settings only logged the alert; once they
    are configured, the same open alert goes out once, and is then suppressed as before."""
    inbox, posts = alert_env
    failure = Alert("task_failure", "error", "task:x", "[statwh][error] x failed", "body", {"n": 1})
    assert len(dispatch([failure], engine, AlertSettings()).sent) == 1       # no channel configured
    assert (inbox.messages, posts) == ([], [])
    assert len(dispatch([failure], engine).sent) == 1                        # the configured channels
    assert [m["Subject"] for m in inbox.messages] == ["[statwh][error] x failed"] and len(posts) == 1
    assert len(dispatch([failure], engine).suppressed) == 1
    assert len(inbox.messages) == 1 and len(posts) == 1
    with engine.connect() as conn:
        channels = conn.execute(sa.text("SELECT channels FROM dw.audit_alert WHERE fingerprint = 'task:x'")).scalar_one()
    assert channels == "email,webhook"


def test_a_channel_that_is_down_does_not_keep_the_alert_off_the_others(engine, alert_env, monkeypatch):
    """SMTP refuses: the webhook still gets the alert, and e-mail gets it on the next dispatch."""
    inbox, posts = alert_env
    failure = Alert("task_failure", "error", "task:y", "[statwh][error] y failed", "body", {"n": 1})
    monkeypatch.setenv("STATWH_SMTP_PORT", str(_closed_port()))
    assert len(dispatch([failure], engine).sent) == 1
    assert (len(inbox.messages), len(posts)) == (0, 1)
    monkeypatch.setenv("STATWH_SMTP_PORT", str(inbox.port))
    dispatch([failure], engine)
    assert (len(inbox.messages), len(posts)) == (1, 1)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:   # bound, never listening: a connection is refused
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_severities_are_routed_per_channel(engine, alert_env):
    inbox, posts = alert_env
    warning = Alert("quality_warning", "warning", "warnings:x.csv", "[statwh][warning] x.csv", "body", {"n": 1})
    dispatch([warning], engine)
    assert inbox.messages == []                      # e-mail is for errors only in this setup
    assert [p["fingerprint"] for p in posts] == ["warnings:x.csv"]
    assert AlertSettings.from_env().channels_for("error") == ["email", "webhook"]


@pytest.mark.parametrize("name", ["STATWH_ALERT_EMAIL_SEVERITIES", "STATWH_ALERT_WEBHOOK_SEVERITIES"])
def test_an_unknown_severity_is_refused_naming_the_allowed_ones(name):
    with pytest.raises(ValueError) as refused:
        AlertSettings.from_env({name: "error,warning,info"})
    assert str(refused.value) == f"{name}: unknown severities ['info']; allowed: error, warning"


def test_severity_lists_are_read_with_spaces_and_default_to_both():
    settings = AlertSettings.from_env({"STATWH_ALERT_EMAIL_SEVERITIES": " warning , error ",
                                       "STATWH_ALERT_WEBHOOK_SEVERITIES": ""})
    assert settings.email_severities == settings.webhook_severities == {"error", "warning"}


def test_a_failed_pipeline_task_alerts(engine, alert_env):
    """The notifier the DAG puts in every task's on_failure_callback, fired with the context
    Airflow hands it; delivery is real."""
    from etl.notifiers import TaskFailureAlert

    inbox, posts = alert_env

    class TaskInstance:  # the attributes the notifier reads from Airflow's context
        dag_id, task_id, try_number = "statwh_nightly", "ingest_file", 3

    context = {"ti": TaskInstance(), "run_id": "scheduled__2026-11-22", "exception": ConnectionError("warehouse down")}
    TaskFailureAlert().notify(context)
    TaskFailureAlert().notify(context)               # the same failure again: suppressed
    assert [m["Subject"] for m in inbox.messages] == ["[statwh][error] Pipeline task failed: statwh_nightly.ingest_file"]
    assert "warehouse down" in inbox.messages[0].get_payload(decode=True).decode()
    assert [p["kind"] for p in posts] == ["task_failure"]
