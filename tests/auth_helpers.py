"""Accounts for tests, and the registry of every secret the suite handles.

``Auth`` (the ``auth`` fixture) makes users of any role straight through the
stores, with a random password and a token, and hands out webtest clients
that send ``Authorization: Bearer <token>``. Nothing it does goes through the
app, so it leaves no audit entries of its own.

``SecretRegistry`` (the session's ``secret_registry`` fixture) remembers every
password and token a test uses; the last test of the run looks for each of
them in every log the run wrote.
"""

import itertools
import logging
import secrets
import threading

from helpers import make_client
from sleeplog.auth.users import nickname_key

_numbers = itertools.count(1)


class SecretRegistry:
    """Every password and token of the run, and the logs to search for them."""

    def __init__(self):
        self._lock = threading.Lock()
        self.secrets = set()
        self.paths = set()

    def add(self, *values):
        """Remember secrets; a token's signature counts on its own as well."""
        with self._lock:
            for value in values:
                if not value:
                    continue
                self.secrets.add(value)
                if value.count(".") >= 2:
                    self.secrets.add(value.rsplit(".", 1)[1])

    def add_path(self, path):
        """Remember a log file to search at the end of the run."""
        with self._lock:
            self.paths.add(str(path))


class LogCollector(logging.Handler):
    """Keeps the text of every log record of the run."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines = []

    def emit(self, record):
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a broken record must not fail a test
            self.handleError(record)


def new_password(registry):
    """A fresh random password, remembered."""
    password = "pw-" + secrets.token_urlsafe(12)
    registry.add(password)
    return password


class Account:
    """A user made for a test: its row, password, token and a client."""

    def __init__(self, user, password, token, claims, client):
        self.user = user
        self.password = password
        self.token = token
        self.claims = claims
        self.client = client

    @property
    def id(self):
        return self.user.id

    @property
    def owner(self):
        return self.user.owner


class Auth:
    """Makes users of a given role for one test, against one app."""

    def __init__(self, app, accounts, database, admin, registry):
        self.app = app
        self.accounts = accounts
        self.database = database
        self.admin = admin
        self.registry = registry

    def user(self, role="user", nickname=None, password=None):
        """A new user with ``role``, logged in; returns an :class:`Account`."""
        nickname = nickname or f"{role}-{next(_numbers)}-{secrets.token_hex(3)}"
        password = password or new_password(self.registry)
        self.registry.add(password)
        user = self.accounts.users.create(
            nickname,
            nickname_key(nickname),
            self.accounts.hasher.hash(password),
            role,
            "UTC",
        )
        token, claims = self.token_for(user)
        return Account(user, password, token, claims, self.client_for(token, user))

    def client(self, role="user"):
        """A client logged in as a new user with ``role``."""
        return self.user(role).client

    def token_for(self, user):
        """A fresh token for ``user`` as it is stored now, remembered."""
        current = self.accounts.users.get(user.id)
        token, claims = self.accounts.signer.issue(current.id, current.token_version)
        self.registry.add(token)
        return token, claims

    def client_for(self, token, user=None, app=None):
        """A client of ``app`` (else the test's) that sends ``token``.

        ``client.user`` is ``user`` and ``client.token`` the token.
        """
        client = make_client(app or self.app)
        client.authorization = ("Bearer", token)
        client.user = user
        client.token = token
        return client

    def anonymous(self):
        """A client that sends no credentials."""
        return make_client(self.app)

    def set_role(self, user_id, role):
        """Change a role behind the service's back, as another admin would."""
        self.sql("UPDATE {db}.users SET role = %s WHERE id = %s", (role, user_id))

    def sql(self, statement, params=()):
        """Run one statement as the admin; ``{db}`` names this run's database."""
        with self.admin.cursor() as cursor:
            statement = statement.replace("{db}", f"`{self.database}`")
            cursor.execute(statement, params)
            return cursor.fetchall()
