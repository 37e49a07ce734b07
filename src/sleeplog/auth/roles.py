"""Roles: named sets of permissions, in one table, ordered from least to most.

:data:`ROLES` is the only place that says what a role may do. A route names
the one permission it needs; the web layer answers 403 to a role without it.
Permissions ending in ``_all`` reach every user's data; the others reach only
the caller's own.

Managing users follows two rules besides the table. A role with
``users:manage`` manages only users ranked below it and gives only roles
ranked below it; ``users:manage_all`` manages anyone and gives any role. And
nobody raises their own role. :func:`check_user_change` applies both; the
store applies it while the rows involved are locked.
"""

from sleeplog.errors import (
    ConflictError,
    PermissionDeniedError,
    ValidationError,
)

#: What each permission allows, for the documentation and ``GET /api/me``.
PERMISSIONS = {
    "account:self": "read and change one's own account, log out",
    "records:read": "read one's own records in every store",
    "records:write": "write one's own records in every store",
    "records:read_all": "read everyone's records in every store",
    "reports:read_all": "read the violators report",
    "stats:read_all": "read every statistic of everyone",
    "log:read": "read the audit trail, log.json",
    "users:read": "list the users",
    "users:manage": "change the role or disabled flag of users ranked below",
    "users:manage_all": "change the role or disabled flag of anyone",
}


def _including(base, *more):
    return frozenset(base) | frozenset(more)


_VIEWER = frozenset(("account:self", "records:read"))
_USER = _including(_VIEWER, "records:write")
_ANALYST = _including(_USER, "records:read_all", "reports:read_all", "stats:read_all")
_ADMIN = _including(_ANALYST, "log:read", "users:read", "users:manage")
_SUPERUSER = _including(_ADMIN, "users:manage_all")

#: Every role, from the least to the most powerful, and its permissions.
ROLES = {
    "viewer": _VIEWER,
    "user": _USER,
    "analyst": _ANALYST,
    "admin": _ADMIN,
    "superuser": _SUPERUSER,
}

SUPERUSER = "superuser"

#: Roles that ``[auth] default_role`` may name: those that manage nobody.
SELF_SERVICE_ROLES = tuple(
    name for name, permissions in ROLES.items() if "users:manage" not in permissions
)


def rank(role):
    """The position of ``role`` in :data:`ROLES`, 0 for the least powerful.

    An unknown role ranks below every known one, at -1.
    """
    names = list(ROLES)
    return names.index(role) if role in ROLES else -1


def permissions_of(role):
    """The permissions of ``role`` as a frozenset; none for an unknown role."""
    return ROLES.get(role, frozenset())


def has_permission(role, permission):
    """Whether ``role`` holds ``permission``."""
    return permission in permissions_of(role)


def matrix():
    """The roles table as a Markdown matrix: a row per permission, a column per role.

    README.md shows this text; a test keeps the two in step.
    """
    header = "| permission | " + " | ".join(f"`{role}`" for role in ROLES) + " |"
    rule = "| --- |" + " :---: |" * len(ROLES)
    lines = [header, rule]
    for permission in PERMISSIONS:
        marks = " | ".join(
            "yes" if permission in permissions else "-"
            for permissions in ROLES.values()
        )
        lines.append(f"| `{permission}` | {marks} |")
    return "\n".join(lines) + "\n"


def check_user_change(actor, target, changes, active_superusers):
    """Decide whether ``actor`` may apply ``changes`` to ``target``.

    ``actor`` and ``target`` are :class:`~sleeplog.auth.users.User` objects
    read while locked; ``changes`` maps ``role`` and/or ``disabled`` to their
    new values; ``active_superusers`` holds the ids of every superuser who is
    not disabled. Raises :class:`PermissionDeniedError` for a change the
    actor may not make, :class:`ConflictError` for one that would leave no
    active superuser, and :class:`ValidationError` for an unknown role.
    """
    new_role = changes.get("role", target.role)
    if new_role not in ROLES:
        known = ", ".join(ROLES)
        raise ValidationError(
            "The role is not valid.",
            [{"field": "role", "message": f"must be one of {known}"}],
        )

    actor_rank = rank(actor.role)
    if target.id == actor.id and rank(new_role) > actor_rank:
        raise PermissionDeniedError("Nobody can raise their own role.")
    if rank(new_role) > actor_rank:
        raise PermissionDeniedError("Nobody can give a role above their own.")

    if not has_permission(actor.role, "users:manage_all"):
        if not has_permission(actor.role, "users:manage"):
            raise PermissionDeniedError("Your role may not manage users.")
        if rank(target.role) >= actor_rank:
            raise PermissionDeniedError(
                f"The role {actor.role} manages only users ranked below it."
            )
        if rank(new_role) >= actor_rank:
            raise PermissionDeniedError(
                f"The role {actor.role} gives only roles ranked below it."
            )

    stays_active_superuser = new_role == SUPERUSER and not changes.get(
        "disabled", target.disabled
    )
    if not stays_active_superuser and set(active_superusers) == {target.id}:
        raise ConflictError("The last active superuser cannot be demoted or disabled.")
