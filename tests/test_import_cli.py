"""``sleeplog import``: files into MySQL or Redis from the command line."""

import pytest

from conftest import CONFIG_DIR, DATA_DIR
from sleeplog import cli, import_cli

SAA = str(DATA_DIR / "sleep_as_android_sleep-export.csv")
FITBIT = str(DATA_DIR / "fitbit_api_v1.2_sleep_date_range.json")


@pytest.fixture()
def environ(test_environ, monkeypatch):
    for key, value in test_environ.items():
        monkeypatch.setenv(key, value)


def sleeplog(*args):
    return cli.main(["--config", str(CONFIG_DIR), "import", *args])


@pytest.mark.parametrize("name", ["mysql", "redis"])
def test_files_are_imported_once_and_summed_up(environ, capsys, request, name):
    store = request.getfixturevalue(f"{name}_store")

    first = sleeplog(SAA, FITBIT, "--store", name, "--timezone", "Europe/London")
    first_out = capsys.readouterr().out
    second = sleeplog(SAA, FITBIT, "--store", name, "--timezone", "Europe/London")
    second_out = capsys.readouterr().out

    assert (first, second) == (0, 0)
    assert first_out.splitlines() == [
        f"{SAA} (sleep-as-android): 12 read, 10 stored, 0 already present, "
        "0 skipped, 2 rejected",
        "  line 16: end: must be after start",
        "  line 18: end: must be after start",
        f"{FITBIT} (fitbit): 2 read, 2 stored, 0 already present, 0 skipped, "
        "0 rejected",
        "total: 14 read, 12 stored, 0 already present, 0 skipped, 2 rejected",
    ]
    assert second_out.splitlines()[-1] == (
        "total: 14 read, 0 stored, 12 already present, 0 skipped, 2 rejected"
    )
    assert store.count(owner="default") == 12


def test_fitbit_without_a_zone_is_refused_and_the_rest_goes_on(
    environ, capsys, mysql_store
):
    status = sleeplog(FITBIT, SAA, "--store", "mysql", "--owner", "bob")
    captured = capsys.readouterr()

    assert status == 1
    assert captured.err.splitlines() == [
        f"sleeplog: {FITBIT}: Fitbit times have no UTC offset: say which time zone "
        "they were recorded in.",
        "  --timezone: is required for fitbit files",
    ]
    assert "12 read, 10 stored" in captured.out
    assert mysql_store.count(owner="bob") == 10


def test_dry_run_stores_nothing(environ, capsys, redis_store):
    status = sleeplog(SAA, "--store", "redis", "--dry-run")

    assert status == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{SAA} (sleep-as-android): 12 read, 10 valid (dry run, nothing stored), "
        "0 skipped, 2 rejected"
    )
    assert redis_store.count() == 0


def test_a_missing_file_and_an_unknown_store(environ, capsys, mysql_store, tmp_path):
    missing = str(tmp_path / "nope.csv")

    assert sleeplog(missing, "--store", "mysql") == 1
    assert (
        capsys.readouterr().err == f"sleeplog: {missing}: No such file or directory\n"
    )
    assert sleeplog(SAA, "--store", "cassandra") == 2
    assert "no store 'cassandra'" in capsys.readouterr().err


def test_progress_follows_the_bytes_read(environ, mysql_store, monkeypatch, tmp_path):
    bars = []

    class Bar:
        def __init__(self, **options):
            self.options = options
            self.n = 0
            bars.append(self)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, size):
            self.n += size

    monkeypatch.setattr(import_cli, "tqdm", Bar)
    big = tmp_path / "big.csv"
    rows = "".join(
        f"19{90 + n // 365 % 10}-01-01T00:00:00Z,19{90 + n // 365 % 10}-01-01T0"
        f"{1 + n % 8}:00:00Z,,,{'x' * 200}\n"
        for n in range(5000)
    )
    big.write_text("start,end,timezone,source,note\n" + rows)

    assert sleeplog(str(big), SAA, "--store", "mysql") == 0

    size = big.stat().st_size
    assert size >= import_cli.PROGRESS_BYTES
    assert (bars[0].options["total"], bars[0].n) == (size, size)
    assert bars[0].options["disable"] is None  # shown when stderr is a terminal
    assert bars[1].options["disable"] is True  # a small file gets no bar


def test_user_picks_the_owner_and_its_time_zone(environ, capsys, mysql_store, auth):
    account = auth.user()
    auth.accounts.users.set_timezone(account.id, "Europe/London")

    status = sleeplog(FITBIT, "--store", "mysql", "--user", account.user.nickname)

    assert status == 0
    assert "2 read, 2 stored" in capsys.readouterr().out
    assert mysql_store.count(owner=account.owner) == 2


def test_an_unknown_user_is_refused(environ, capsys, mysql_store):
    status = sleeplog(SAA, "--store", "mysql", "--user", "nobody-here")

    assert status == 2
    assert capsys.readouterr().err == "sleeplog: there is no user 'nobody-here'\n"
    assert mysql_store.count() == 0
