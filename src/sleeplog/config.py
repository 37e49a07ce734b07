"""Reading the configuration: two INI files, any value overridable from the environment.

``config/sleeplog.ini`` holds the service's own settings and
``config/database.ini`` the storage servers'. The folder is ``./config``
unless ``SLEEPLOG_CONFIG_DIR`` or ``--config`` names another.

The naming rule for overrides: the variable ``SLEEPLOG_<SECTION>_<KEY>``, in
upper case, replaces ``key`` of ``[section]``. ``SLEEPLOG_MYSQL_PASSWORD``
replaces ``password`` under ``[mysql]``; ``SLEEPLOG_SERVER_PORT`` replaces
``port`` under ``[server]``. An override wins over the file, and every key
must still exist in its file, so the files document everything there is.

Every problem raises :class:`~sleeplog.errors.ConfigError` whose one-line
message names the file, the section and the key.
"""

import configparser
import datetime
import importlib
import ipaddress
import os
import types
from urllib.parse import urlsplit

from sleeplog.auth.roles import SELF_SERVICE_ROLES
from sleeplog.errors import ConfigError
from sleeplog.timestamps import TimestampError, load_zone

SERVICE_FILE = "sleeplog.ini"
DATABASE_FILE = "database.ini"
ENV_PREFIX = "SLEEPLOG_"

#: The value config/sleeplog.ini ships for [auth] secret_keys; never accepted.
PLACEHOLDER_SECRET = "CHANGE-ME"
MIN_SECRET_LENGTH = 32


def _integer(low, high=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f"of {low} or more"
            raise ValueError(f"expected a whole number {bound}")
        return value

    return parse


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value <= 3600:
        raise ValueError("expected a number of seconds above 0 and at most 3600")
    return value


def _choice(*options):
    def parse(text):
        value = text.strip().lower()
        if value not in options:
            raise ValueError("expected one of " + ", ".join(options))
        return value

    return parse


def _text(text):
    return text


def _nonempty(text):
    if not text.strip():
        raise ValueError("must not be empty")
    return text.strip()


def _networks(text):
    networks = []
    for item in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError("expected IP addresses or networks") from None
    return tuple(networks)


def _redis_url(text):
    scheme = urlsplit(text.strip()).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise ValueError("expected a redis://, rediss:// or unix:// URL")
    return text.strip()


def _pool_size(text):
    if text.strip().lower() == "auto":
        return None
    try:
        return _integer(1, 1000)(text)
    except ValueError:
        raise ValueError("expected auto or a whole number from 1 to 1000") from None


def _key_prefix(text):
    value = _nonempty(text)
    if any(char in value for char in "{}*?[] \t"):
        raise ValueError("must not contain braces, wildcards or spaces")
    return value


def _boolean(text):
    value = text.strip().lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise ValueError("expected true or false")


def _clock_time(text):
    hours, _, minutes = text.strip().partition(":")
    try:
        return datetime.time(int(hours), int(minutes))
    except ValueError:
        raise ValueError("expected a time of day as HH:MM") from None


def _timezone(text):
    try:
        load_zone(text.strip())
    except TimestampError as exc:
        raise ValueError(str(exc)) from None
    return text.strip()


def _secret_keys(text):
    keys = tuple(text.split())
    if keys in ((), (PLACEHOLDER_SECRET,)):
        # Unset: commands that sign nothing may run; require_secret_keys
        # stops the service.
        return ()
    if PLACEHOLDER_SECRET in keys:
        raise ValueError(f"must not list the placeholder {PLACEHOLDER_SECRET}")
    if any(len(key) < MIN_SECRET_LENGTH for key in keys):
        raise ValueError(f"each key must be {MIN_SECRET_LENGTH} characters or more")
    return keys


#: Its value is never repeated in an error message.
_secret_keys.secret = True


#: Every setting: file -> section -> key -> parser. The files must hold them all.
SCHEMA = {
    SERVICE_FILE: {
        "server": {
            "host": _nonempty,
            "port": _integer(0, 65535),
            "threads": _integer(1, 256),
            "max_body_bytes": _integer(1024),
            "drain_seconds": _seconds,
            "trusted_proxies": _networks,
        },
        "audit": {
            "path": _nonempty,
            "fsync": _choice("always", "never"),
        },
        "logging": {
            "level": _choice("debug", "info", "warning", "error"),
        },
        "records": {
            "default_owner": _nonempty,
        },
        "auth": {
            "secret_keys": _secret_keys,
            "token_lifetime": _integer(60, 366 * 86400),
            "default_role": _choice(*SELF_SERVICE_ROLES),
            "default_timezone": _timezone,
            "login_max_failures": _integer(1, 1000),
            "login_failure_window": _integer(1, 86400),
            "cookie_secure": _boolean,
            "argon2_memory_kib": _integer(8, 4 * 1024 * 1024),
            "argon2_time_cost": _integer(1, 100),
            "argon2_parallelism": _integer(1, 64),
        },
        "nights": {
            "evening": _clock_time,
            "morning": _clock_time,
            "threshold_minutes": _integer(1, 24 * 60),
        },
        "imports": {
            "max_body_bytes": _integer(1024),
            "batch_size": _integer(1, 10000),
        },
    },
    DATABASE_FILE: {
        "mysql": {
            "host": _nonempty,
            "port": _integer(1, 65535),
            "user": _nonempty,
            "password": _text,
            "database": _nonempty,
            "pool_size": _pool_size,
            "connect_timeout": _seconds,
            "read_timeout": _seconds,
            "write_timeout": _seconds,
        },
        "redis": {
            "url": _redis_url,
            "key_prefix": _key_prefix,
            "connect_timeout": _seconds,
            "timeout": _seconds,
        },
    },
}

#: Sections whose keys are free: ``[stores]`` maps a store name to its class.
OPEN_SECTIONS = {SERVICE_FILE: ("stores",)}


class Settings(types.SimpleNamespace):
    """All settings, as ``settings.<section>.<key>``.

    ``settings.stores`` maps each configured store name to its class, and
    ``settings.config_dir`` is the folder the files were read from.
    """


def require_secret_keys(settings):
    """Raise :class:`ConfigError` unless ``[auth] secret_keys`` names real keys.

    The shipped placeholder and an empty value load as no keys, so commands
    that sign nothing still run; the service calls this before it starts.
    """
    if not settings.auth.secret_keys:
        raise ConfigError(
            os.path.join(settings.config_dir, SERVICE_FILE),
            "[auth] secret_keys",
            f"is not set (or is the placeholder {PLACEHOLDER_SECRET}); set "
            f"${ENV_PREFIX}AUTH_SECRET_KEYS to one or more random keys of "
            f"{MIN_SECRET_LENGTH} characters or more, oldest first",
        )


def config_dir(explicit=None, environ=None):
    """The folder to read: ``explicit``, else $SLEEPLOG_CONFIG_DIR, else ./config."""
    environ = os.environ if environ is None else environ
    return explicit or environ.get(ENV_PREFIX + "CONFIG_DIR") or "config"


def load_settings(directory=None, environ=None):
    """Read both files under ``directory``, apply overrides, check every value.

    Returns a :class:`Settings`. Raises :class:`ConfigError` on the first
    missing file, missing key or bad value.
    """
    environ = os.environ if environ is None else environ
    directory = config_dir(directory, environ)
    settings = Settings(config_dir=directory)

    for filename, sections in SCHEMA.items():
        path = os.path.join(directory, filename)
        parser = _read(path)
        for section, keys in sections.items():
            values = {}
            for key, parse in keys.items():
                values[key] = _value(parser, path, section, key, parse, environ)
            setattr(settings, section, types.SimpleNamespace(**values))

        for section in OPEN_SECTIONS.get(filename, ()):
            setattr(settings, section, _stores(parser, path, section, environ))

        known = set(sections) | set(OPEN_SECTIONS.get(filename, ()))
        for section in parser.sections():
            if section not in known:
                raise ConfigError(
                    path, f"[{section}]", "is not a section sleeplog knows"
                )

    if settings.mysql.pool_size is None:
        settings.mysql.pool_size = settings.server.threads
    auth = settings.auth
    if auth.argon2_memory_kib < 8 * auth.argon2_parallelism:
        raise ConfigError(
            os.path.join(directory, SERVICE_FILE),
            "[auth] argon2_memory_kib",
            "must be at least 8 times argon2_parallelism",
        )
    return settings


def _read(path):
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as file:
            parser.read_file(file)
    except FileNotFoundError:
        raise ConfigError(path, "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        problem = str(exc).splitlines()[0]
        raise ConfigError(path, "(file)", f"cannot be read: {problem}") from None
    return parser


def _value(parser, path, section, key, parse, environ):
    name = f"{ENV_PREFIX}{section}_{key}".upper()
    where = f"[{section}] {key}"
    if name in environ:
        raw = environ[name]
        where = f"{where} (from ${name})"
    elif parser.has_option(section, key):
        raw = parser.get(section, key)
    else:
        raise ConfigError(path, where, "is missing")

    try:
        return parse(raw)
    except ValueError as exc:
        shown = "" if getattr(parse, "secret", False) else f", got {raw!r}"
        raise ConfigError(path, where, f"{exc}{shown}") from None


def _stores(parser, path, section, environ):
    if not parser.has_section(section):
        raise ConfigError(path, f"[{section}]", "is missing")

    stores = {}
    for name, target in parser.items(section):
        where = f"[{section}] {name}"
        variable = f"{ENV_PREFIX}{section}_{name}".upper()
        if variable in environ:
            target = environ[variable]
            where = f"{where} (from ${variable})"
        if not name.isidentifier() or not name.islower():
            raise ConfigError(path, where, "a store name must be a lower-case word")
        stores[name] = _import_class(path, where, target)
    if not stores:
        raise ConfigError(path, f"[{section}]", "names no store")
    return stores


def _import_class(path, where, target):
    module_name, _, class_name = target.strip().partition(":")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(
            path, where, f"cannot import {target.strip()!r} (expected module:Class)"
        ) from None
