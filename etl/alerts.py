"""Alerts that reach a person: e-mail (SMTP) and a JSON webhook, routed by severity and
deduplicated in the warehouse (``dw.audit_alert``).

Settings (environment):

| variable | meaning | default |
|---|---|---|
| ``STATWH_SMTP_HOST`` / ``STATWH_SMTP_PORT`` | SMTP server | unset: no e-mail / 25 |
| ``STATWH_SMTP_FROM`` | sender | ``statwh@localhost`` |
| ``STATWH_SMTP_STARTTLS``, ``STATWH_SMTP_USER``, ``STATWH_SMTP_PASSWORD`` | optional | off |
| ``STATWH_ALERT_EMAIL_TO`` | comma-separated recipients | unset: no e-mail |
| ``STATWH_ALERT_EMAIL_SEVERITIES`` | which severities are e-mailed | ``error,warning`` |
| ``STATWH_ALERT_WEBHOOK_URL`` | URL that receives a JSON POST per alert | unset: no webhook |
| ``STATWH_ALERT_WEBHOOK_SEVERITIES`` | which severities are posted | ``error,warning`` |

An alert with no channel configured is still logged and recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import smtplib
import urllib.request
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage

log = logging.getLogger(__name__)
#: the severities an alert can have (a failed check of severity ``info`` raises no alert of its own)
SEVERITIES = ("error", "warning")


@dataclass(frozen=True)
class Alert:
    kind: str         # rejected_submission | quality_warning | missing_report | late_report | task_failure
    severity: str     # error | warning
    fingerprint: str  # what makes two alerts the same open problem
    subject: str
    body: str         # for people
    payload: dict = field(default_factory=dict)  # for machines (the webhook gets it as JSON)

    @property
    def content_sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class AlertSettings:
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "statwh@localhost"
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = None
    email_to: tuple[str, ...] = ()
    email_severities: frozenset[str] = frozenset(SEVERITIES)
    webhook_url: str | None = None
    webhook_severities: frozenset[str] = frozenset(SEVERITIES)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AlertSettings:
        env = dict(os.environ if env is None else env)

        def severities(name: str) -> frozenset[str]:
            chosen = frozenset(s.strip() for s in (env.get(name) or "error,warning").split(",") if s.strip())
            unknown = chosen - set(SEVERITIES)
            if unknown:
                raise ValueError(f"{name}: unknown severities {sorted(unknown)}; allowed: {', '.join(SEVERITIES)}")
            return chosen

        return cls(
            smtp_host=env.get("STATWH_SMTP_HOST") or None,
            smtp_port=int(env.get("STATWH_SMTP_PORT") or 25),
            smtp_from=env.get("STATWH_SMTP_FROM") or "statwh@localhost",
            smtp_starttls=(env.get("STATWH_SMTP_STARTTLS", "").lower() in ("1", "true", "yes")),
            smtp_user=env.get("STATWH_SMTP_USER") or None,
            smtp_password=env.get("STATWH_SMTP_PASSWORD") or None,
            email_to=tuple(a.strip() for a in env.get("STATWH_ALERT_EMAIL_TO", "").split(",") if a.strip()),
            email_severities=severities("STATWH_ALERT_EMAIL_SEVERITIES"),
            webhook_url=env.get("STATWH_ALERT_WEBHOOK_URL") or None,
            webhook_severities=severities("STATWH_ALERT_WEBHOOK_SEVERITIES"),
        )

    def channels_for(self, severity: str) -> list[str]:
        channels = []
        if self.smtp_host and self.email_to and severity in self.email_severities:
            channels.append("email")
        if self.webhook_url and severity in self.webhook_severities:
            channels.append("webhook")
        return channels


# --------------------------------------------------------------------------- delivery


def send_email(alert: Alert, settings: AlertSettings) -> None:
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(settings.email_to)
    message["X-Statwh-Fingerprint"] = alert.fingerprint
    message["X-Statwh-Severity"] = alert.severity
    message.set_content(alert.body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


def post_webhook(alert: Alert, settings: AlertSettings) -> None:
    body = json.dumps({**asdict(alert), "source": "statwarehouse"}, ensure_ascii=False, default=str).encode()
    request = urllib.request.Request(settings.webhook_url, data=body, method="POST",  # type: ignore[arg-type]
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - URL from configuration
        if response.status >= 300:
            raise RuntimeError(f"webhook answered {response.status}")


def deliver(alert: Alert, settings: AlertSettings, channels: list[str] | None = None) -> list[str]:
    """Send one alert on ``channels`` (default: every channel its severity is routed to);
    returns the channels used."""
    sent, failures = [], []
    for channel in settings.channels_for(alert.severity) if channels is None else channels:
        try:  # one channel down (SMTP refused) must not keep the alert off the others
            (send_email if channel == "email" else post_webhook)(alert, settings)
        except (OSError, RuntimeError, smtplib.SMTPException) as exc:
            log.error("alert [%s] %s: %s failed: %s", alert.severity, alert.subject, channel, exc)
            failures.append(exc)
        else:
            sent.append(channel)
    if failures and not sent:
        raise failures[0]
    # A channel that failed is not recorded as carrying the alert, so the next dispatch retries it.
    log.warning("alert [%s] %s -> %s", alert.severity, alert.subject, ", ".join(sent) or "log only")
    return sent


# --------------------------------------------------------------------------- deduplication


@dataclass
class DispatchReport:
    sent: list[Alert] = field(default_factory=list)
    suppressed: list[Alert] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)


def dispatch(alerts: list[Alert], engine, settings: AlertSettings | None = None, *, now=None) -> DispatchReport:
    """Send the alerts that are new, changed or back after being resolved; record all.

    An open alert with the same content is suppressed only on the channels that already
    carried it: a channel configured since (SMTP added to a server that ran without it)
    still receives it once, so alerts recorded with no channel are not lost for good.
    """
    import sqlalchemy as sa

    from etl.warehouse import utc_now

    settings = settings or AlertSettings.from_env()
    now = now or utc_now()
    report = DispatchReport()
    for alert in alerts:
        with engine.begin() as conn:
            row = conn.execute(
                sa.text("SELECT content_sha256, resolved_at, channels FROM dw.audit_alert WHERE fingerprint = :f"),
                {"f": alert.fingerprint},
            ).first()
            routed = settings.channels_for(alert.severity)
            already = [c for c in (row[2] or "").split(",") if c] if row is not None else []
            repeat = row is not None and row[0] == alert.content_sha256 and row[1] is None
            if repeat and set(routed) <= set(already):
                conn.execute(sa.text("UPDATE dw.audit_alert SET suppressed_count = suppressed_count + 1 "
                                     "WHERE fingerprint = :f"), {"f": alert.fingerprint})
                report.suppressed.append(alert)
                continue
        # outside the transaction: a slow SMTP holds no lock
        channels = deliver(alert, settings, [c for c in routed if c not in already] if repeat else routed)
        if repeat:
            channels = already + channels
        params = {"f": alert.fingerprint, "k": alert.kind, "s": alert.severity, "subj": alert.subject,
                  "sha": alert.content_sha256, "p": json.dumps(alert.payload, ensure_ascii=False, default=str),
                  "ch": ",".join(channels), "now": now}
        with engine.begin() as conn:
            if row is None:
                conn.execute(sa.text(
                    "INSERT INTO dw.audit_alert (fingerprint, kind, severity, subject, content_sha256, payload_json, "
                    "channels, first_sent_at, last_sent_at, send_count, suppressed_count, resolved_at) "
                    "VALUES (:f, :k, :s, :subj, :sha, :p, :ch, :now, :now, 1, 0, NULL)"), params)
            else:
                conn.execute(sa.text(
                    "UPDATE dw.audit_alert SET kind = :k, severity = :s, subject = :subj, content_sha256 = :sha, "
                    "payload_json = :p, channels = :ch, last_sent_at = :now, send_count = send_count + 1, "
                    "resolved_at = NULL WHERE fingerprint = :f"), params)
        report.sent.append(alert)
    return report


def resolve(engine, fingerprints: list[str], *, now=None) -> list[str]:
    """Mark open alerts as resolved (the problem went away); returns those that were open."""
    import sqlalchemy as sa

    from etl.warehouse import utc_now

    if not fingerprints:
        return []
    now = now or utc_now()
    resolved = []
    with engine.begin() as conn:
        for fingerprint in fingerprints:
            result = conn.execute(sa.text("UPDATE dw.audit_alert SET resolved_at = :now "
                                          "WHERE fingerprint = :f AND resolved_at IS NULL"),
                                  {"now": now, "f": fingerprint})
            if result.rowcount:
                resolved.append(fingerprint)
    return resolved


# --------------------------------------------------------------------------- alerts from a run


def _problem_lines(problems: list[dict], limit: int = 50) -> list[str]:
    from etl.submission import Problem

    lines = [f"  - {Problem(**p).describe()}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  … and {len(problems) - limit} more (see the quarantine report)")
    return lines


def alerts_from_results(results: list[dict], run_id: str | None = None) -> tuple[list[Alert], list[str]]:
    """Alerts for one pipeline run's ingest results, and fingerprints the run resolved.

    A rejected file is an error alert; a loaded file with warnings (e.g. large revisions) a
    warning alert. A file loaded under a name that was rejected before resolves that alert.
    """
    alerts, resolved = [], []
    for r in results:
        name = r["file"]
        problems = [{k: p[k] for k in ("file", "sheet", "row", "column", "value", "rule", "message", "severity")}
                    for p in r.get("problems", [])]
        rejected = r["status"] == "rejected" or (r["status"] == "duplicate" and r.get("duplicate_of_status") == "rejected")
        warnings = [p for p in problems if p["severity"] == "warning"]
        # no run id in the payload: the same problem seen by the next run is the same alert
        payload = {"file": name, "batch_key": r.get("batch_key"), "kept_at": r.get("kept_at"), "problems": problems}
        if rejected:
            alerts.append(Alert(
                "rejected_submission", "error", f"submission:{name}",
                f"[statwh][error] Rejected: {name} ({len(problems)} problems)",
                "\n".join([f"The submission {name} was rejected and nothing of it was loaded.",
                           f"It is kept at {r.get('kept_at')} with a report (.report.json).",
                           f"Pipeline run: {run_id or 'cli'}.", "",
                           "Problems:", *_problem_lines(problems)]),
                {**payload, "problems": problems},
            ))
        elif r["status"] == "loaded":
            resolved.append(f"submission:{name}")
            if warnings:
                alerts.append(Alert(
                    "quality_warning", "warning", f"warnings:{name}",
                    f"[statwh][warning] {name}: {len(warnings)} warnings (loaded)",
                    "\n".join([f"The submission {name} was loaded (batch {r.get('batch_key')}) with warnings:",
                               *_problem_lines(warnings)]),
                    {**payload, "problems": warnings},
                ))
    return alerts, resolved
