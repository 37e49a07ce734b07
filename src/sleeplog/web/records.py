"""The record routes: ``/api/<store>/records`` for every configured store.

Records belong to the user who sent them. A caller without
``records:read_all`` lists only its own records, and another user's record
answers 404, exactly as a missing one does.
"""

from urllib.parse import urlencode

from bottle import request

from sleeplog.errors import NotFoundError, ValidationError
from sleeplog.models import validate_record
from sleeplog.storage.base import cursor_of
from sleeplog.web.audit import note
from sleeplog.web.bodies import read_json
from sleeplog.web.context import current
from sleeplog.web.params import (
    encode_cursor,
    query_cursor,
    query_int,
    query_text,
    query_timestamp,
)
from sleeplog.web.responses import json_response, streamed_array

MAX_PAGE = 10000


def install(app):
    """Add the record routes to ``app``."""
    app.route("/api/<store>/records", "POST", create_record, permission="records:write")
    app.route("/api/<store>/records", "GET", list_records, permission="records:read")
    app.route(
        "/api/<store>/records/<record_id>",
        "GET",
        get_record,
        permission="records:read",
    )


def create_record(store, owner):
    """Save one record: 201 when new, 200 with the stored one for a repeat."""
    settings = current("settings")
    payload = read_json(request.environ, settings.server.max_body_bytes)
    record = validate_record(
        payload,
        owner=owner,
        now=current("clock")(),
        client=request.environ["sleeplog.client"],
    )
    note(request.environ, data=record.to_json())

    stored, created = store.save(record)
    if created:
        note(request.environ, undo=lambda: store.delete(stored.id))
    note(request.environ, summary={"id": stored.id, "created": created})

    location = f"/api/{store.name}/records/{stored.id}"
    return json_response(
        stored.to_json(),
        status=201 if created else 200,
        headers={"Location": location},
    )


def list_records(store, user):
    """The caller's records (everyone's with read_all) in order; ``limit`` pages."""
    start_from = query_timestamp("from")
    start_to = query_timestamp("to")
    if start_from is not None and start_to is not None and start_from > start_to:
        raise ValidationError.of_query("from", "must not be after to")
    limit = query_int("limit", 1, MAX_PAGE)
    after = query_cursor()
    owner = None if "records:read_all" in user.permissions else user.owner
    selection = dict(owner=owner, start_from=start_from, start_to=start_to)

    if limit is not None:
        page = store.page(after=after, limit=limit + 1, **selection)
        headers = {}
        if len(page) > limit:
            page = page[:limit]
            headers = _next_page_headers(store, cursor_of(page[-1]), limit)
        note(request.environ, summary={"items": len(page)})
        return json_response([r.to_json() for r in page], headers=headers)

    # Fetch the first page before answering, so a store that is down
    # answers 503 rather than a cut-off stream.
    first = store.page(after=after, limit=500, **selection)
    records = _continue(store, first, selection)
    return streamed_array(record.to_json() for record in records)


def get_record(store, record_id, user):
    """One record by id; another user's answers 404 without read_all."""
    if not record_id.isascii() or not record_id.isdigit() or len(record_id) > 19:
        raise NotFoundError(f"There is no record {record_id!r}.")

    record = store.get(int(record_id))
    if record.owner != user.owner and "records:read_all" not in user.permissions:
        # The same words as the store's, so the two cannot be told apart.
        raise NotFoundError(f"There is no record {int(record_id)}.")
    note(request.environ, summary={"id": record.id})
    return json_response(record.to_json())


def _continue(store, first, selection, page_size=500):
    yield from first
    if len(first) == page_size:
        yield from store.iter_records(
            after=cursor_of(first[-1]), page_size=page_size, **selection
        )


def _next_page_headers(store, cursor, limit):
    # Only the parameters this route reads; they were checked already.
    query = {key: query_text(key) for key in ("from", "to") if query_text(key)}
    query["limit"] = str(limit)
    query["cursor"] = encode_cursor(cursor)
    url = f"/api/{store.name}/records?{urlencode(query)}"
    return {"Link": f'<{url}>; rel="next"', "X-Next-Cursor": query["cursor"]}
