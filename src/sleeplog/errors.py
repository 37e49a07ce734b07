"""The exceptions sleeplog raises, as one tree rooted at :class:`SleeplogError`.

Storage drivers' exceptions never travel past the storage layer: each backend
maps them onto these classes in one place. The web layer maps these classes
onto HTTP statuses in one table (``sleeplog.web.errors``), so a new error
needs a class here and a row there, nothing else.
"""


class SleeplogError(Exception):
    """Base class of every error sleeplog raises on purpose.

    ``message`` is written for people; ``details`` is a list of
    JSON-serialisable dicts that say more, such as the failing fields.
    """

    def __init__(self, message, details=None):
        super().__init__(message)
        self.message = message
        self.details = list(details or ())


class ConfigError(SleeplogError):
    """A configuration file, key or value is missing or wrong."""

    def __init__(self, path, key, problem):
        super().__init__(f"{path}: {key}: {problem}")
        self.path = path
        self.key = key


class BadRequestError(SleeplogError):
    """The request body cannot be read as what it claims to be."""


class UnsupportedMediaTypeError(SleeplogError):
    """The request body has a content type the route does not take."""


class PayloadTooLargeError(SleeplogError):
    """The request body is larger than the configured limit."""


class ValidationError(SleeplogError):
    """The request was readable but its values are wrong.

    Each entry of ``details`` is ``{"field": name, "message": text}``.
    """

    @classmethod
    def of_field(cls, field, message):
        """One failing field of a body: "The <field> is not valid."."""
        return cls(f"The {field} is not valid.", [{"field": field, "message": message}])

    @classmethod
    def of_query(cls, name, message):
        """One failing query parameter, named in the message."""
        return cls(
            f"The query parameter {name!r} is not valid.",
            [{"field": name, "message": message}],
        )


class NotFoundError(SleeplogError):
    """The thing asked for does not exist, or is not the caller's to see."""


class AuthenticationError(SleeplogError):
    """The request carries no valid credentials: log in (again).

    ``credentials_sent`` is false when none were sent at all, true when a
    token or password was sent and refused.
    """

    def __init__(self, message, details=None, credentials_sent=True):
        super().__init__(message, details)
        self.credentials_sent = credentials_sent


class PermissionDeniedError(SleeplogError):
    """The caller is known but may not do this."""


class ConflictError(SleeplogError):
    """The request clashes with the current state, such as a taken nickname."""


class ThrottledError(SleeplogError):
    """Too many attempts; ``retry_after`` says in how many seconds to try again."""

    def __init__(self, message, retry_after, details=None):
        super().__init__(message, details)
        self.retry_after = max(1, int(retry_after))


class StorageError(SleeplogError):
    """A store failed in a way that retrying will not fix."""


class StorageUnavailableError(StorageError):
    """A store is down, unreachable or too slow; retrying later may work."""


class AuditLogUnavailableError(SleeplogError):
    """The audit trail cannot be written, so nothing may change."""
