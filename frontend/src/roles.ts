// The rules of auth/roles.py `check_user_change`, for showing only the
// changes a role may make. The server applies them again, with the rows
// locked, and has the last word (it alone knows the last active superuser).
import { ROLES, type Account, type Role } from "./api";

/** The position of `role`, 0 for the least powerful, -1 when unknown. */
export function rank(role: string): number {
  return (ROLES as readonly string[]).indexOf(role);
}

/** Whether `actor` may change `target`'s role or disabled flag at all. */
export function canManage(actor: Account, target: Account): boolean {
  if (actor.permissions.includes("users:manage_all")) {
    return true;
  }
  return (
    actor.permissions.includes("users:manage") &&
    rank(target.role) < rank(actor.role)
  );
}

/** The roles `actor` may give `target`; empty when `target` is out of reach. */
export function assignableRoles(actor: Account, target: Account): Role[] {
  if (!canManage(actor, target)) {
    return [];
  }
  const limit = rank(actor.role);
  const all = actor.permissions.includes("users:manage_all");
  return ROLES.filter((role) =>
    all ? rank(role) <= limit : rank(role) < limit,
  );
}
