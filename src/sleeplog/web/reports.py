"""The violators report and the main page's statistics over HTTP.

Both are thin: they pick the people and the records the caller may see, and
hand them to ``sleeplog.services.violators`` and ``sleeplog.services.stats``,
which define every figure.

- ``GET /api/reports/violators?from=D&to=D&store=mysql|redis|all`` lists the
  people who slept too little in the nights from ``from`` to ``to`` (dates,
  both included; by default the last 7 nights). Everyone with the
  ``reports:read_all`` permission, one's own otherwise. JSON by default, CSV
  with ``Accept: text/csv`` or ``format=csv``.
- ``GET /api/stats`` gives the caller's own figures, and everyone's too with
  the ``stats:read_all`` permission.
"""

from datetime import date, timedelta

from bottle import HTTPResponse, request

from sleeplog.errors import ValidationError
from sleeplog.services import reports
from sleeplog.timestamps import load_zone
from sleeplog.web.audit import note
from sleeplog.web.context import current
from sleeplog.web.params import query_text
from sleeplog.web.responses import json_response

#: The longest report one request may ask for, in nights.
MAX_NIGHTS = 366
#: Report dates stay where records can be, far from datetime's limits.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(8999, 12, 31)


def install(app):
    """Add the report and statistics routes to ``app``."""
    app.route(
        "/api/reports/violators", "GET", violators_report, permission="records:read"
    )
    app.route("/api/stats", "GET", stats, permission="records:read")


def violators_report(user):
    """The violators in a date range; everyone's with reports:read_all."""
    today = current("clock")().astimezone(load_zone(user.timezone)).date()
    date_to = _query_date("to") or today - timedelta(days=1)
    date_from = _query_date("from") or date_to - timedelta(days=6)
    if date_from > date_to:
        raise ValidationError.of_query("from", "must not be after to")
    if (date_to - date_from).days >= MAX_NIGHTS:
        raise ValidationError.of_query(
            "to", f"a report covers at most {MAX_NIGHTS} nights"
        )

    stores = _chosen_stores(query_text("store") or "all")
    everyone = "reports:read_all" in user.permissions
    people = reports.everyone(current("accounts")) if everyone else _just(user)
    rule = reports.night_rule(current("settings").nights)
    found = reports.find_violators(stores, people, date_from, date_to, rule)
    violators = list(found)
    note(
        request.environ,
        data={"from": date_from.isoformat(), "to": date_to.isoformat()},
        summary={"violators": len(violators), "everyone": everyone},
    )

    if _wants_csv():
        return _csv_response(violators, date_from, date_to)
    return json_response(
        {
            "from": date_from.isoformat(),
            "to": date_to.isoformat(),
            "stores": sorted(stores),
            "rule": reports.rule_json(rule),
            "violators": [violator.to_json() for violator in violators],
        }
    )


def stats(user):
    """The caller's figures for the main page; everyone's with stats:read_all."""
    now = current("clock")()
    stores = current("stores")
    rule = reports.night_rule(current("settings").nights)
    figures = dict(now=now, tz=user.timezone, rule=rule)

    own = reports.stats_for(stores, _just(user), user.owner, **figures)
    everyone = None
    if "stats:read_all" in user.permissions:
        people = reports.everyone(current("accounts"))
        everyone = reports.stats_for(stores, people, None, **figures)

    note(request.environ, summary={"everyone": everyone is not None})
    return json_response(
        {
            "rule": reports.rule_json(rule),
            "own": own.to_json(),
            "everyone": None if everyone is None else everyone.to_json(),
        }
    )


def _just(user):
    return {user.owner: reports.person(user)}


def _chosen_stores(name):
    stores = current("stores")
    if name == "all":
        return stores
    if name not in stores:
        choices = ", ".join(sorted(stores) + ["all"])
        raise ValidationError.of_query("store", f"must be one of {choices}")
    return {name: stores[name]}


def _query_date(name):
    text = query_text(name)
    if text is None:
        return None

    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationError.of_query(
            name, "must be a date such as 2024-05-01"
        ) from None

    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError.of_query(name, "must lie between the years 1970 and 9000")
    return day


def _wants_csv():
    wanted = (query_text("format") or "").lower()
    if wanted:
        if wanted not in ("csv", "json"):
            raise ValidationError.of_query("format", "must be csv or json")
        return wanted == "csv"
    return "text/csv" in request.headers.get("Accept", "")


def _csv_response(violators, date_from, date_to):
    filename = f"violators-{date_from.isoformat()}-{date_to.isoformat()}.csv"
    return HTTPResponse(
        body=reports.violators_csv(violators).encode("utf-8"),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )
