"""The roles table and the rules of managing users, without any I/O."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from sleeplog.auth.roles import (
    ROLES,
    check_user_change,
    matrix,
    permissions_of,
    rank,
)
from sleeplog.auth.users import User, nickname_key
from sleeplog.errors import ConflictError, PermissionDeniedError, ValidationError

README = Path(__file__).resolve().parent.parent / "README.md"


def user(user_id, role, disabled=False):
    return User(
        id=user_id,
        nickname=f"u{user_id}",
        role=role,
        timezone="UTC",
        disabled=disabled,
        token_version=0,
        created_at=datetime(2024, 1, 1, tzinfo=timezone.utc),
    )


def test_roles_are_ordered_and_each_holds_the_one_below():
    names = list(ROLES)

    assert names == ["viewer", "user", "analyst", "admin", "superuser"]
    for lower, higher in zip(names, names[1:]):
        assert permissions_of(lower) < permissions_of(higher)
    assert [rank(name) for name in names] == [0, 1, 2, 3, 4]


def test_the_table_says_what_the_issue_asks():
    assert permissions_of("viewer") == {"account:self", "records:read"}
    assert permissions_of("user") - permissions_of("viewer") == {"records:write"}
    assert permissions_of("analyst") - permissions_of("user") == {
        "records:read_all",
        "reports:read_all",
        "stats:read_all",
    }
    assert permissions_of("admin") - permissions_of("analyst") == {
        "log:read",
        "users:read",
        "users:manage",
    }
    assert permissions_of("superuser") - permissions_of("admin") == {"users:manage_all"}


def test_an_unknown_role_may_do_nothing():
    assert permissions_of("emperor") == frozenset()
    assert rank("emperor") == -1


def test_the_documentation_shows_the_table_as_it_is():
    assert matrix() in README.read_text()


# actor role, target role, change, allowed (None) or the error it raises
CHANGES = [
    ("admin", "user", {"role": "viewer"}, None),
    ("admin", "user", {"role": "analyst"}, None),
    ("admin", "viewer", {"disabled": True}, None),
    ("admin", "user", {"role": "admin"}, PermissionDeniedError),
    ("admin", "user", {"role": "superuser"}, PermissionDeniedError),
    ("admin", "admin", {"role": "user"}, PermissionDeniedError),
    ("admin", "superuser", {"disabled": True}, PermissionDeniedError),
    ("analyst", "viewer", {"role": "user"}, PermissionDeniedError),
    ("user", "viewer", {"disabled": True}, PermissionDeniedError),
    ("superuser", "admin", {"role": "superuser"}, None),
    ("superuser", "user", {"role": "emperor"}, ValidationError),
]


@pytest.mark.parametrize(("actor_role", "target_role", "change", "error"), CHANGES)
def test_who_may_change_whom(actor_role, target_role, change, error):
    actor, target = user(1, actor_role), user(2, target_role)
    superusers = {1} if actor_role == "superuser" else {9}

    if error is None:
        check_user_change(actor, target, change, superusers)
    else:
        with pytest.raises(error):
            check_user_change(actor, target, change, superusers)


def test_nobody_raises_their_own_role():
    for role in list(ROLES)[:-1]:
        me = user(1, role)
        higher = list(ROLES)[rank(role) + 1]
        with pytest.raises(PermissionDeniedError):
            check_user_change(me, me, {"role": higher}, {9})


@pytest.mark.parametrize("change", [{"role": "admin"}, {"disabled": True}])
def test_the_last_active_superuser_stays(change):
    me = user(1, "superuser")

    with pytest.raises(ConflictError):
        check_user_change(me, me, change, {1})
    check_user_change(me, me, change, {1, 2})


def test_a_disabled_superuser_may_be_demoted_by_the_active_one():
    active, dormant = user(1, "superuser"), user(2, "superuser", disabled=True)

    check_user_change(active, dormant, {"role": "user"}, {1})


@pytest.mark.parametrize(
    ("first", "second"),
    [("Ada", "ADA"), ("Straße", "STRASSE"), ("e\u0301", "\u00c9"), ("ﬁx", "FIX")],
)
def test_nickname_keys_ignore_case_and_composition(first, second):
    assert nickname_key(first) == nickname_key(second)
