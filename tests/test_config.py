"""Reading the configuration files and their environment overrides."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sleeplog.config import load_settings, require_secret_keys
from sleeplog.errors import ConfigError

CONFIG = Path(__file__).resolve().parent.parent / "config"


@pytest.fixture()
def config_dir(tmp_path):
    for name in ("sleeplog.ini", "database.ini"):
        shutil.copy(CONFIG / name, tmp_path / name)
    return tmp_path


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_shipped_files_load(config_dir):
    settings = load_settings(str(config_dir), environ={})

    assert settings.server.port == 8080
    assert settings.server.threads == 8
    assert settings.server.trusted_proxies == ()
    assert settings.audit.path == "log.json"
    assert settings.audit.fsync == "always"
    assert settings.mysql.port == 3306
    assert settings.mysql.password == ""
    # pool_size = auto follows the server threads.
    assert settings.mysql.pool_size == 8
    assert settings.redis.key_prefix == "sleeplog"
    assert sorted(settings.stores) == ["mysql", "redis"]
    # The shipped placeholder loads as no key; the service refuses to start.
    assert settings.auth.secret_keys == ()
    assert settings.auth.token_lifetime == 86400
    assert settings.auth.default_role == "user"
    assert settings.auth.default_timezone == "UTC"
    assert settings.auth.login_max_failures == 5
    assert settings.auth.login_failure_window == 900
    assert settings.auth.cookie_secure is False
    # The OWASP minimum for argon2id.
    assert (
        settings.auth.argon2_memory_kib,
        settings.auth.argon2_time_cost,
        settings.auth.argon2_parallelism,
    ) == (19456, 2, 1)


def test_environment_overrides_the_file(config_dir):
    settings = load_settings(
        str(config_dir),
        environ={
            "SLEEPLOG_SERVER_PORT": "9001",
            "SLEEPLOG_MYSQL_PASSWORD": "s3cret",
            "SLEEPLOG_SERVER_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
            "SLEEPLOG_MYSQL_POOL_SIZE": "3",
        },
    )

    assert settings.server.port == 9001
    assert settings.mysql.password == "s3cret"
    assert [str(n) for n in settings.server.trusted_proxies] == [
        "10.0.0.0/8",
        "::1/128",
    ]
    assert settings.mysql.pool_size == 3


def test_secret_keys_are_a_list_oldest_first(config_dir):
    old, new = "o" * 32, "n" * 40
    settings = load_settings(
        str(config_dir), environ={"SLEEPLOG_AUTH_SECRET_KEYS": f" {old}  {new} "}
    )

    assert settings.auth.secret_keys == (old, new)
    require_secret_keys(settings)


@pytest.mark.parametrize("value", ["", "   ", "CHANGE-ME"])
def test_an_unset_or_placeholder_secret_is_refused_by_name(config_dir, value):
    settings = load_settings(
        str(config_dir), environ={"SLEEPLOG_AUTH_SECRET_KEYS": value}
    )

    with pytest.raises(ConfigError) as caught:
        require_secret_keys(settings)

    assert caught.value.message == (
        f"{config_dir / 'sleeplog.ini'}: [auth] secret_keys: is not set (or is "
        "the placeholder CHANGE-ME); set $SLEEPLOG_AUTH_SECRET_KEYS to one or more "
        "random keys of 32 characters or more, oldest first"
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("short-" + "s" * 20, "each key must be 32 characters or more"),
        ("k" * 32 + " tiny", "each key must be 32 characters or more"),
        ("k" * 32 + " CHANGE-ME", "must not list the placeholder CHANGE-ME"),
    ],
)
def test_a_bad_secret_is_refused_without_repeating_it(config_dir, value, problem):
    with pytest.raises(ConfigError) as caught:
        load_settings(str(config_dir), environ={"SLEEPLOG_AUTH_SECRET_KEYS": value})

    assert caught.value.message == (
        f"{config_dir / 'sleeplog.ini'}: [auth] secret_keys "
        f"(from $SLEEPLOG_AUTH_SECRET_KEYS): {problem}"
    )
    for key in value.split():
        assert key not in caught.value.message.replace("CHANGE-ME", "")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "SLEEPLOG_AUTH_DEFAULT_ROLE",
            "admin",
            "[auth] default_role (from $SLEEPLOG_AUTH_DEFAULT_ROLE): expected one "
            "of viewer, user, analyst, got 'admin'",
        ),
        (
            "SLEEPLOG_AUTH_DEFAULT_TIMEZONE",
            "Mars/Olympus",
            "[auth] default_timezone (from $SLEEPLOG_AUTH_DEFAULT_TIMEZONE): "
            "'Mars/Olympus' is not a known IANA time zone, got 'Mars/Olympus'",
        ),
        (
            "SLEEPLOG_AUTH_COOKIE_SECURE",
            "maybe",
            "[auth] cookie_secure (from $SLEEPLOG_AUTH_COOKIE_SECURE): "
            "expected true or false, got 'maybe'",
        ),
        (
            "SLEEPLOG_AUTH_ARGON2_PARALLELISM",
            "4000",
            "[auth] argon2_parallelism (from $SLEEPLOG_AUTH_ARGON2_PARALLELISM): "
            "expected a whole number from 1 to 64, got '4000'",
        ),
    ],
)
def test_bad_auth_settings_name_the_key(config_dir, key, value, message):
    with pytest.raises(ConfigError) as caught:
        load_settings(str(config_dir), environ={key: value})

    assert caught.value.message == f"{config_dir / 'sleeplog.ini'}: {message}"


def test_argon2_memory_must_cover_its_lanes(config_dir):
    environ = {
        "SLEEPLOG_AUTH_ARGON2_MEMORY_KIB": "16",
        "SLEEPLOG_AUTH_ARGON2_PARALLELISM": "4",
    }

    with pytest.raises(ConfigError) as caught:
        load_settings(str(config_dir), environ=environ)

    assert caught.value.message == (
        f"{config_dir / 'sleeplog.ini'}: [auth] argon2_memory_kib: "
        "must be at least 8 times argon2_parallelism"
    )


def test_check_config_reports_the_placeholder_secret(config_dir):
    script = Path(sys.executable).parent / "sleeplog"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SLEEPLOG_")}

    result = subprocess.run(
        [str(script), "--config", str(config_dir), "check-config"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
    )

    assert result.returncode == 2
    assert result.stderr.startswith(
        f"sleeplog: {config_dir / 'sleeplog.ini'}: [auth] secret_keys: is not set"
    )
    assert result.stderr.count("\n") == 1


def test_config_dir_from_the_environment(config_dir):
    settings = load_settings(environ={"SLEEPLOG_CONFIG_DIR": str(config_dir)})

    assert settings.config_dir == str(config_dir)


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "database.ini",
            "port = 3306",
            "port = abc",
            "[mysql] port: expected a whole number from 1 to 65535, got 'abc'",
        ),
        (
            "database.ini",
            "read_timeout = 10\n",
            "",
            "[mysql] read_timeout: is missing",
        ),
        (
            "sleeplog.ini",
            "fsync = always",
            "fsync = sometimes",
            "[audit] fsync: expected one of always, never, got 'sometimes'",
        ),
        (
            "sleeplog.ini",
            "trusted_proxies =",
            "trusted_proxies = 10.0.0.300",
            "[server] trusted_proxies: expected IP addresses or networks, "
            "got '10.0.0.300'",
        ),
        (
            "sleeplog.ini",
            "mysql = sleeplog.storage.mysql_store:MySQLRecordStore",
            "mysql = sleeplog.storage.nowhere:Nothing",
            "[stores] mysql: cannot import "
            "'sleeplog.storage.nowhere:Nothing' (expected module:Class)",
        ),
        (
            "database.ini",
            "key_prefix = sleeplog",
            "key_prefix = sleep*",
            "[redis] key_prefix: must not contain braces, wildcards or "
            "spaces, got 'sleep*'",
        ),
    ],
)
def test_bad_files_name_the_file_and_key(config_dir, file, old, new, message):
    edit(config_dir / file, old, new)

    with pytest.raises(ConfigError) as caught:
        load_settings(str(config_dir), environ={})

    assert caught.value.message == f"{config_dir / file}: {message}"


def test_bad_override_names_the_variable(config_dir):
    with pytest.raises(ConfigError) as caught:
        load_settings(str(config_dir), environ={"SLEEPLOG_SERVER_THREADS": "0"})

    assert caught.value.message == (
        f"{config_dir / 'sleeplog.ini'}: [server] threads "
        "(from $SLEEPLOG_SERVER_THREADS): "
        "expected a whole number from 1 to 256, got '0'"
    )


def test_missing_file(config_dir):
    (config_dir / "database.ini").unlink()

    with pytest.raises(ConfigError) as caught:
        load_settings(str(config_dir), environ={})

    assert (
        caught.value.message == f"{config_dir / 'database.ini'}: (file): no such file"
    )


@pytest.mark.parametrize("command", ["sleeplog-serve", "sleeplog"])
def test_commands_stop_with_one_line_and_no_traceback(config_dir, command):
    edit(config_dir / "database.ini", "port = 3306", "port = 99999")
    script = Path(sys.executable).parent / command
    args = [str(script), "--config", str(config_dir)]
    if command == "sleeplog":
        args.append("check-config")

    result = subprocess.run(args, capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"{command}: {config_dir / 'database.ini'}: [mysql] port: "
        "expected a whole number from 1 to 65535, got '99999'\n"
    )


def test_a_misspelt_section_is_named(config_dir):
    edit(
        config_dir / "sleeplog.ini", "[records]", "[loging]\nlevel = info\n\n[records]"
    )

    with pytest.raises(ConfigError) as caught:
        load_settings(str(config_dir), environ={})

    assert caught.value.message == (
        f"{config_dir / 'sleeplog.ini'}: [loging]: is not a section sleeplog knows"
    )


def test_a_store_can_be_overridden_too(config_dir):
    with pytest.raises(ConfigError) as caught:
        load_settings(
            str(config_dir), environ={"SLEEPLOG_STORES_MYSQL": "nosuch.module:Cls"}
        )

    assert caught.value.message == (
        f"{config_dir / 'sleeplog.ini'}: [stores] mysql (from $SLEEPLOG_STORES_MYSQL): "
        "cannot import 'nosuch.module:Cls' (expected module:Class)"
    )
