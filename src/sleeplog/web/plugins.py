"""Bottle plugins: they authenticate, hand routes their stores, turn errors into JSON.

Each plugin has a ``name``, speaks plugin ``api = 2`` and injects its objects
only into routes whose callback takes their keywords, so a route says what it
needs by naming it as an argument. ``setup`` refuses a second plugin that
would claim the same keyword.

Routes say what they need in their config: ``permission="records:read"``
names the permission the caller's role must hold, and ``auth=False`` opens a
route to everyone. :func:`check_route_access` refuses an app with a route
that says neither, so no route is left open by accident.
"""

import logging

from bottle import HTTPError, HTTPResponse, PluginError, request, response

from sleeplog.auth.roles import PERMISSIONS
from sleeplog.errors import NotFoundError, PermissionDeniedError, SleeplogError
from sleeplog.web.audit import note
from sleeplog.web.errors import error_body, error_response
from sleeplog.web.sessions import Session, check_csrf, credentials

log = logging.getLogger(__name__)

#: Error details kept in an audit entry; the answer itself has them all.
MAX_LOGGED_DETAILS = 20


class _KeywordPlugin:
    api = 2
    keywords = ()

    def setup(self, app):
        for other in app.plugins:
            if other is self:
                continue
            taken = set(getattr(other, "keywords", ())) & set(self.keywords)
            if taken:
                raise PluginError(
                    f"another plugin already injects the keyword {min(taken)!r}"
                )

    def wanted(self, route):
        """The plugin's keywords that the route's callback takes."""
        return set(self.keywords) & set(route.get_callback_args())


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
        self.keywords = (keyword,)

    def apply(self, callback, route):
        if not self.wanted(route):
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


class AuthPlugin(_KeywordPlugin):
    """Lets a request through only with a valid token and the route's permission.

    Every route is closed unless its config says ``auth=False``. A request
    without valid credentials gets 401; one whose role lacks the route's
    ``permission``, or that changes something through the session cookie
    without its CSRF header, gets 403. The role is read from the database on
    every request, so a change of role takes effect at once.

    Injects ``user`` (the :class:`~sleeplog.auth.users.User`), ``owner`` (the
    owner name of the user's records) and ``session`` (a
    :class:`~sleeplog.web.sessions.Session`) into routes that take them, and
    puts the user's id and nickname in the audit entry.
    """

    name = "auth"
    keywords = ("user", "owner", "session")

    def __init__(self, accounts):
        self.accounts = accounts

    def apply(self, callback, route):
        if route.config.get("auth") is False:
            return callback

        permission = route.config.get("permission")
        wanted = self.wanted(route)

        def wrapper(*args, **kwargs):
            session = self.authenticate()
            user = session.user
            if permission not in user.permissions:
                raise PermissionDeniedError(
                    f"The role {user.role} may not do this; it needs {permission}."
                )
            check_csrf(request.environ, session, self.accounts.signer)

            injected = {"user": user, "owner": user.owner, "session": session}
            for keyword in wanted:
                kwargs[keyword] = injected[keyword]
            if "owner" in wanted:
                note(request.environ, owner=user.owner)
            return callback(*args, **kwargs)

        return wrapper

    def authenticate(self):
        """The :class:`Session` of the current request; notes its user."""
        token, via = credentials()
        user, claims = self.accounts.authenticate(token)
        note(request.environ, user=user.reference())
        return Session(user=user, claims=claims, via=via)


def check_route_access(app):
    """Raise ``ValueError`` for a route that names no known permission.

    Each route must say ``auth=False`` or ``permission=<name>`` with a name
    from :data:`~sleeplog.auth.roles.PERMISSIONS`.
    """
    for route in app.routes:
        config = route.config
        if config.get("auth") is False:
            continue
        if config.get("permission") not in PERMISSIONS:
            raise ValueError(
                f"The route {route.method} {route.rule} must be registered with "
                "permission=<a name from sleeplog.auth.roles.PERMISSIONS> "
                "or auth=False."
            )


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
                summary = {"error": exc.message}
                if exc.details:
                    # What failed, not what was sent: details name fields.
                    summary["details"] = exc.details[:MAX_LOGGED_DETAILS]
                note(request.environ, summary=summary)
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
