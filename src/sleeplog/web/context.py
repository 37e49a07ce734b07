"""What routes reach through the app: settings, stores, clock, audit log, accounts.

``create_app`` puts them in the bottle app's config under ``sleeplog.<name>``.
Routes are plain module-level functions that ask for them here; bottle takes
a route defined as a closure for a decorated function and misreads its
arguments, so routes never close over their dependencies.
"""

from bottle import request


def current(name):
    """The app's ``name``: settings, stores, clock, audit_log or accounts."""
    return request.app.config["sleeplog." + name]
