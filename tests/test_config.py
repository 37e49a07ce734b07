"""Reading the configuration files and their environment overrides."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sleeplog.config import load_settings
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
            "[server] trusted_proxies: '10.0.0.300' is not an IP address "
            "or network, got '10.0.0.300'",
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
