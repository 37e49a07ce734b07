"""Bottle plugins: they hand routes their stores and turn errors into JSON.

Each plugin has a ``name``, speaks plugin ``api = 2`` and injects its object
only into routes whose callback takes its keyword, so a route says what it
needs by naming it as an argument. ``setup`` refuses a second plugin that
would claim the same keyword.
"""

import logging

from bottle import HTTPError, HTTPResponse, PluginError, request, response

from sleeplog.errors import NotFoundError, SleeplogError
from sleeplog.web.audit import note
from sleeplog.web.errors import error_body, error_response

log = logging.getLogger(__name__)


class _KeywordPlugin:
    api = 2
    keyword = None

    def setup(self, app):
        for other in app.plugins:
            if other is not self and getattr(other, "keyword", None) == self.keyword:
                raise PluginError(
                    f"another plugin already injects the keyword {self.keyword!r}"
                )

    def wants(self, route):
        return self.keyword in route.get_callback_args()


class StorePlugin(_KeywordPlugin):
    """Injects the record store a route's URL names.

    A route such as ``/api/<store>/records`` whose callback takes ``store``
    receives the configured store of that name instead of the name itself;
    an unknown name answers 404.
    """

    name = "stores"

    def __init__(self, stores, keyword="store"):
        self.stores = stores
        self.keyword = keyword

    def apply(self, callback, route):
        if not self.wants(route):
            return callback

        def wrapper(*args, **kwargs):
            name = kwargs[self.keyword]
            store = self.stores.get(name)
            if store is None:
                known = ", ".join(sorted(self.stores))
                raise NotFoundError(
                    f"There is no store {name!r}; the stores are {known}."
                )

            note(request.environ, store=name)
            kwargs[self.keyword] = store
            return callback(*args, **kwargs)

        return wrapper


class OwnerPlugin(_KeywordPlugin):
    """Injects the owner of the records a request reads and writes.

    Until accounts exist every request acts for the configured default owner.
    """

    name = "owner"

    def __init__(self, default_owner, keyword="owner"):
        self.default_owner = default_owner
        self.keyword = keyword

    def apply(self, callback, route):
        if not self.wants(route):
            return callback

        def wrapper(*args, **kwargs):
            note(request.environ, owner=self.default_owner)
            kwargs[self.keyword] = self.default_owner
            return callback(*args, **kwargs)

        return wrapper


class ErrorPlugin:
    """Turns every exception a route raises into the canonical JSON error.

    Installed first, so it wraps all the others. A ``SleeplogError`` gets its
    status from ``sleeplog.web.errors``; anything else is a 500 whose
    traceback goes to the server log only.
    """

    name = "errors"
    api = 2

    def apply(self, callback, route):
        def wrapper(*args, **kwargs):
            request_id = request.environ.get("sleeplog.request_id", "-")
            try:
                return callback(*args, **kwargs)
            except HTTPResponse:
                raise
            except SleeplogError as exc:
                note(request.environ, summary={"error": exc.message})
                return error_response(exc, request_id)
            except Exception:
                log.exception("request %s failed", request_id)
                note(request.environ, summary={"error": "internal error"})
                return HTTPResponse(
                    body=error_body(
                        500, "Something went wrong on our side.", request_id
                    ),
                    status=500,
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )

        return wrapper


def json_error_handler(res):
    """bottle's own errors (unknown route, wrong method) in the JSON shape."""
    request_id = request.environ.get("sleeplog.request_id", "-")
    messages = {
        404: f"There is nothing at {request.path}.",
        405: f"{request.method} is not allowed here.",
    }
    message = messages.get(res.status_code, res.body or res.status_line)
    if res.status_code >= 500 and isinstance(res, HTTPError) and res.traceback:
        log.error("request %s failed:\n%s", request_id, res.traceback)
        message = "Something went wrong on our side."

    details = []
    if res.status_code == 405:
        details = [{"allowed": res.headers.get("Allow", "")}]
    note(request.environ, summary={"error": message})
    response.content_type = "application/json; charset=utf-8"
    return error_body(res.status_code, message, request_id, details)
