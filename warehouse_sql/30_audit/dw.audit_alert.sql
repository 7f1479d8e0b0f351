-- audit_alert
-- Grain: one row per open or resolved problem that was (or would have been) alerted,
-- identified by its fingerprint (e.g. 'submission:74_bd_2021-12.csv', 'missing:SCT-BD:202112').
-- An alert is sent when its fingerprint is new, when its content changed, or when it was
-- resolved and came back; otherwise it is suppressed, so stewards are not told the same thing
-- every night. Key: fingerprint.
CREATE TABLE IF NOT EXISTS dw.audit_alert (
    fingerprint      VARCHAR PRIMARY KEY,
    kind             VARCHAR NOT NULL,   -- rejected_submission | quality_warning | missing_report | late_report | task_failure
    severity         VARCHAR NOT NULL,   -- 'error' | 'warning'
    subject          VARCHAR NOT NULL,
    content_sha256   VARCHAR NOT NULL,   -- of the payload: a change re-sends the alert
    payload_json     VARCHAR NOT NULL,
    channels         VARCHAR NOT NULL,   -- where it went last time: 'email,webhook' ('' = only logged)
    first_sent_at    TIMESTAMP NOT NULL, -- UTC
    last_sent_at     TIMESTAMP NOT NULL,
    send_count       INTEGER NOT NULL,
    suppressed_count INTEGER NOT NULL,   -- times the same open problem was seen and not re-sent
    resolved_at      TIMESTAMP           -- NULL while open
)
