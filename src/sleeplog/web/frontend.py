"""The pages: the built Vue app in ``sleeplog/static``, served at ``/``.

``frontend/`` holds the sources; ``npm run build`` there writes the app into
the package, and the built files are committed, so installing and serving
need no Node. ``/`` and every path of the app's own pages answer
``index.html``, which the browser then routes itself; ``/assets/...`` are the
scripts and styles, named by a hash of their content and so cached for good.
Paths under ``/api/`` are never answered here: an unknown one stays a JSON 404.
"""

from pathlib import Path

from bottle import static_file

from sleeplog.errors import NotFoundError

STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"
ASSETS_ROOT = STATIC_ROOT / "assets"

#: The paths of the app's pages, as in frontend/src/router.ts.
PAGES = (
    "/login",
    "/register",
    "/records",
    "/records/<name>",
    "/log",
    "/violators",
    "/users",
    "/account",
)

#: The page loads only its own scripts and styles and talks only to this
#: origin; no inline script or style is needed, so none is allowed.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_ASSET_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}


def install(app):
    """Add the page routes to ``app``; all are open to everyone."""
    app.route("/", "GET", index, auth=False)
    for path in PAGES:
        app.route(path, "GET", page, auth=False)
    app.route("/assets/<filename:path>", "GET", asset, auth=False)
    app.route("/favicon.svg", "GET", favicon, auth=False)


def index():
    """The app's ``index.html``, never cached without asking again."""
    return _serve("index.html", STATIC_ROOT, _PAGE_HEADERS)


def page(name=None):
    """A page of the app: the same ``index.html``; the browser routes it."""
    return index()


def asset(filename):
    """A built script, style or image; its name changes with its content."""
    return _serve(filename, ASSETS_ROOT, _ASSET_HEADERS)


def favicon():
    """The icon in the browser's tab."""
    return _serve(
        "favicon.svg", STATIC_ROOT, {"Cache-Control": "public, max-age=86400"}
    )


def _serve(filename, root, headers):
    response = static_file(filename, root=str(root))
    if response.status_code == 404:
        raise NotFoundError(_missing_message(filename))
    if response.status_code >= 400:
        return response

    for name, value in headers.items():
        response.set_header(name, value)
    return response


def _missing_message(filename):
    if not (STATIC_ROOT / "index.html").is_file():
        return "The pages are not built; run `npm run build` in frontend/."
    return f"There is no file {filename!r}."
