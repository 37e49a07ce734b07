"""``/livez`` and ``/readyz``: is the process up, and can it take writes."""

from bottle import HTTPResponse, request

from sleeplog.errors import AuditLogUnavailableError, StorageError
from sleeplog.web.context import current
from sleeplog.web.errors import RETRY_AFTER_SECONDS, error_body
from sleeplog.web.responses import json_response


def install(app):
    """Add the health routes to ``app``."""
    app.route("/livez", "GET", livez, auth=False)
    app.route("/readyz", "GET", readyz, auth=False)


def livez():
    """200 while the process answers at all."""
    return json_response({"status": "alive"})


def readyz():
    """200 when every store, the account stores and the log work; else 503."""
    checks = {}
    for name, store in sorted(current("stores").items()):
        checks[name] = _outcome(store.check)
    checks["accounts"] = _outcome(current("accounts").check)
    checks["log"] = _outcome(current("audit_log").check)

    failing = sorted(name for name, result in checks.items() if result != "ok")
    if not failing:
        return json_response({"status": "ready", "checks": checks})

    message = "Not ready: " + ", ".join(failing) + " cannot take writes."
    details = [{"component": name, "message": checks[name]} for name in failing]
    return HTTPResponse(
        body=error_body(503, message, request.environ["sleeplog.request_id"], details),
        status=503,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Retry-After": str(RETRY_AFTER_SECONDS),
        },
    )


def _outcome(check):
    try:
        check()
    except (StorageError, AuditLogUnavailableError) as exc:
        return exc.message
    return "ok"
