"""The violators report and the statistics, gathered from stores and accounts.

The HTTP routes and the ``sleeplog report`` command both call these, so the
two give the same answers. Stores are any ``RecordStore``; ``accounts`` is a
:class:`~sleeplog.services.accounts.Accounts`. The figures themselves are
defined in :mod:`sleeplog.services.violators` and :mod:`sleeplog.services.stats`.
"""

import csv
import io
from datetime import timedelta

from sleeplog.services.nights import NightRule
from sleeplog.services.people import Person
from sleeplog.services.stats import compute_stats, stats_range
from sleeplog.services.violators import iter_violators, merge_stores

CSV_COLUMNS = (
    "user_id",
    "nickname",
    "date",
    "minutes",
    "total_minutes",
    "window_start",
    "window_end",
    "clients",
)


def night_rule(nights):
    """The :class:`NightRule` of a ``[nights]`` settings section."""
    return NightRule(
        evening=nights.evening,
        morning=nights.morning,
        threshold=timedelta(minutes=nights.threshold_minutes),
    )


def person(account):
    """The :class:`Person` of an account (a ``sleeplog.auth.users.User``)."""
    return Person(
        owner=account.owner,
        user_id=account.id,
        nickname=account.nickname,
        timezone=account.timezone,
    )


def everyone(accounts, page_size=1000):
    """Every account as a mapping owner -> :class:`Person`."""
    people = {}
    after = 0
    while True:
        page = accounts.list_users(after=after, limit=page_size)
        for account in page:
            people[account.owner] = person(account)
        if len(page) < page_size:
            return people
        after = page[-1].id


def find_violators(stores, people, date_from, date_to, rule):
    """Yield the violators among ``people`` in the nights ``date_from``-``date_to``.

    ``stores`` maps names to stores; a record kept in several counts once.
    Reads one person at a time, so memory does not grow with the records.
    """

    def records_of(owner, start_from, start_to):
        streams = [
            store.iter_records(owner=owner, start_from=start_from, start_to=start_to)
            for store in stores.values()
        ]
        return merge_stores(*streams)

    return iter_violators(records_of, date_from, date_to, people, rule)


def violators_csv(violators):
    """The report as CSV text: one row per violated night."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for violator in violators:
        for night in violator.nights:
            row = night.to_json()
            writer.writerow(
                (
                    violator.person.user_id,
                    _spreadsheet_safe(violator.person.name),
                    row["date"],
                    row["minutes"],
                    row["total_minutes"],
                    row["window_start"],
                    row["window_end"],
                    " ".join(sorted(night.clients)),
                )
            )
    return buffer.getvalue()


def _spreadsheet_safe(text):
    # A nickname such as "-2-3" would be read as a formula by a spreadsheet.
    if text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text


def rule_json(rule):
    """The night rule as JSON, to show next to figures computed with it."""
    return {
        "evening": rule.evening.strftime("%H:%M"),
        "morning": rule.morning.strftime("%H:%M"),
        "threshold_minutes": int(rule.threshold.total_seconds() // 60),
    }


def stats_for(stores, people, owner, *, now, tz, rule):
    """The main page's figures of ``owner``, or of everyone when it is None."""
    start_from, start_to = stats_range(now, tz)
    streams = [
        store.iter_records(owner=owner, start_from=start_from, start_to=start_to)
        for store in stores.values()
    ]
    return compute_stats(
        merge_stores(*streams),
        now=now,
        tz=tz,
        people=people,
        store_counts={name: store.count(owner=owner) for name, store in stores.items()},
        rule=rule,
    )
