"""``sleeplog create-superuser``: the password never comes from the command line."""

import getpass
import subprocess
import sys
from pathlib import Path

import pytest

from auth_helpers import new_password
from sleeplog import cli

CONFIG = str(Path(__file__).resolve().parent.parent / "config")
SLEEPLOG = str(Path(sys.executable).parent / "sleeplog")


@pytest.fixture()
def environ(test_environ, monkeypatch, user_store):
    """The process environment of this run, with no superuser password yet."""
    for key, value in test_environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SLEEPLOG_SUPERUSER_PASSWORD", raising=False)
    return test_environ


def create(*args):
    return cli.main(["--config", CONFIG, "create-superuser", *args])


def can_log_in(accounts, nickname, password):
    try:
        accounts.login({"nickname": nickname, "password": password}, "cli-test")
    except Exception:  # noqa: BLE001 - any refusal means no
        return False
    return True


def test_the_password_comes_from_the_environment(
    environ, monkeypatch, capsys, accounts, secret_registry
):
    password = new_password(secret_registry)
    monkeypatch.setenv("SLEEPLOG_SUPERUSER_PASSWORD", password)

    status = create("Boss")

    out, err = capsys.readouterr()
    assert status == 0
    assert out.startswith("superuser Boss created (id ")
    assert password not in out + err
    user = accounts.users.find("boss")
    assert (user.role, user.disabled) == ("superuser", False)
    assert can_log_in(accounts, "Boss", password)


def test_the_password_comes_from_a_prompt_asked_twice(
    environ, monkeypatch, capsys, accounts, secret_registry
):
    password = new_password(secret_registry)
    prompts = []

    def prompt(text):
        prompts.append(text)
        return password

    monkeypatch.setattr(getpass, "getpass", prompt)

    status = create("boss")

    assert status == 0
    assert prompts == ["Password: ", "Password (again): "]
    assert can_log_in(accounts, "boss", password)
    assert password not in "".join(capsys.readouterr())


def test_two_different_passwords_create_nobody(environ, monkeypatch, capsys, auth):
    answers = iter(["first-password", "second-password"])
    monkeypatch.setattr(getpass, "getpass", lambda text: next(answers))

    status = create("boss")

    assert status == 1
    assert capsys.readouterr().err == "sleeplog: the two passwords differ\n"
    assert auth.sql("SELECT COUNT(*) FROM {db}.users") == ((0,),)


def test_a_short_password_is_refused(environ, monkeypatch, capsys):
    monkeypatch.setenv("SLEEPLOG_SUPERUSER_PASSWORD", "short")

    status = create("boss")

    assert status == 1
    assert capsys.readouterr().err == (
        "sleeplog: The password is not valid. "
        "(password must be at least 8 characters long)\n"
    )


def test_a_taken_nickname_is_refused_unless_promoted(
    environ, monkeypatch, capsys, auth, accounts
):
    account = auth.user("user", nickname="Taken")
    monkeypatch.setenv("SLEEPLOG_SUPERUSER_PASSWORD", "another-password")

    refused = create("taken")
    refused_err = capsys.readouterr().err
    promoted = create("taken", "--promote")

    assert refused == 1
    assert refused_err == (
        "sleeplog: the nickname 'taken' is taken; add --promote to make that user "
        "a superuser\n"
    )
    assert promoted == 0
    assert capsys.readouterr().out == f"Taken (id {account.id}) is now a superuser\n"
    assert accounts.users.get(account.id).role == "superuser"
    # Promotion keeps the password.
    assert can_log_in(accounts, "Taken", account.password)
    assert not can_log_in(accounts, "Taken", "another-password")


def test_promoting_nobody_fails(environ, capsys):
    assert create("nobody", "--promote") == 1
    assert capsys.readouterr().err == "sleeplog: There is no user with that nickname.\n"


def test_there_is_no_password_option(environ, secret_registry):
    password = new_password(secret_registry)

    result = subprocess.run(
        [
            SLEEPLOG,
            "--config",
            CONFIG,
            "create-superuser",
            "boss",
            "--password",
            password,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
    )

    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


def test_the_command_runs_as_a_process(environ, accounts, secret_registry):
    password = new_password(secret_registry)

    result = subprocess.run(
        [SLEEPLOG, "--config", CONFIG, "create-superuser", "rooty"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(environ, SLEEPLOG_SUPERUSER_PASSWORD=password),
        stdin=subprocess.DEVNULL,
    )

    assert result.returncode == 0, result.stderr
    assert password not in result.stdout + result.stderr
    assert accounts.users.find("rooty").role == "superuser"
