"""``sleeplog create-superuser NICKNAME``: the account that manages all others.

The password comes from ``$SLEEPLOG_SUPERUSER_PASSWORD`` when that is set,
else from a prompt that does not echo, asked twice. It is never read from
the command line, where anyone on the machine could see it in the process
list.

A nickname that is taken is refused, unless ``--promote`` is given: then
that user becomes an active superuser and keeps its password, and no
password is asked for.

Exit status: 0 on success; 1 when the nickname is taken, the password is
refused or a store fails; 2 when the command line or the configuration is
wrong.
"""

import getpass
import os
import sys

from sleeplog.errors import (
    ConflictError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from sleeplog.services.accounts import Accounts, make_hasher
from sleeplog.storage.registry import open_account_stores

PASSWORD_VARIABLE = "SLEEPLOG_SUPERUSER_PASSWORD"


class _PasswordRefusedError(Exception):
    """The two passwords typed at the prompt differ."""


def add_parser(commands):
    """Add the ``create-superuser`` subcommand to the ``commands`` subparsers."""
    parser = commands.add_parser(
        "create-superuser",
        help="create a superuser (password from a prompt or the environment)",
        description=__doc__.split("\n")[0],
    )
    parser.add_argument("nickname", metavar="NICKNAME")
    parser.add_argument(
        "--promote",
        action="store_true",
        help="make the existing user NICKNAME a superuser, keeping its password",
    )


def run(args, settings, environ=None, prompt=None):
    """Create or promote the superuser ``args.nickname``; returns the exit status.

    ``environ`` and ``prompt`` default to ``os.environ`` and
    ``getpass.getpass``; tests pass their own.
    """
    environ = os.environ if environ is None else environ
    prompt = getpass.getpass if prompt is None else prompt
    users, throttle = open_account_stores(settings)
    hasher = make_hasher(settings.auth)
    accounts = Accounts(settings.auth, users, throttle, None, hasher)
    try:
        users.prepare()
        if args.promote:
            user = accounts.promote(args.nickname)
            print(f"{user.nickname} (id {user.id}) is now a superuser")
            return 0

        password = _password(environ, prompt)
        user = accounts.create_superuser(args.nickname, password)
    except _PasswordRefusedError as exc:
        return _fail(str(exc))
    except ValidationError as exc:
        problems = "; ".join(f"{d['field']} {d['message']}" for d in exc.details)
        return _fail(f"{exc.message} ({problems})")
    except ConflictError:
        return _fail(
            f"the nickname {args.nickname!r} is taken; add --promote to make that "
            "user a superuser"
        )
    except (NotFoundError, StorageError) as exc:
        return _fail(exc.message)
    finally:
        accounts.close()

    print(f"superuser {user.nickname} created (id {user.id})")
    return 0


def _password(environ, prompt):
    if PASSWORD_VARIABLE in environ:
        return environ[PASSWORD_VARIABLE]

    first = prompt("Password: ")
    second = prompt("Password (again): ")
    if first != second:
        raise _PasswordRefusedError("the two passwords differ")
    return first


def _fail(message):
    print(f"sleeplog: {message}", file=sys.stderr)
    return 1
