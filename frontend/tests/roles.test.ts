import { describe, expect, it } from "vitest";

import { ROLES, type Account, type Permission, type Role } from "../src/api";
import { assignableRoles, canManage } from "../src/roles";

// The permissions of each role, as auth/roles.py ROLES says.
const PERMISSIONS: Record<Role, Permission[]> = {
  viewer: ["account:self", "records:read"],
  user: ["account:self", "records:read", "records:write"],
  analyst: [
    "account:self",
    "records:read",
    "records:write",
    "records:read_all",
    "reports:read_all",
    "stats:read_all",
  ],
  admin: [
    "account:self",
    "records:read",
    "records:write",
    "records:read_all",
    "reports:read_all",
    "stats:read_all",
    "log:read",
    "users:read",
    "users:manage",
  ],
  superuser: [
    "account:self",
    "records:read",
    "records:write",
    "records:read_all",
    "reports:read_all",
    "stats:read_all",
    "log:read",
    "users:read",
    "users:manage",
    "users:manage_all",
  ],
};

let ids = 0;
function account(role: Role): Account {
  ids += 1;
  return {
    id: ids,
    nickname: `${role}${ids}`,
    role,
    timezone: "UTC",
    disabled: false,
    created_at: "2024-01-01T00:00:00Z",
    permissions: PERMISSIONS[role],
  };
}

describe("who may change whom", () => {
  it.each([
    ["admin", "user", ["viewer", "user", "analyst"]],
    ["admin", "analyst", ["viewer", "user", "analyst"]],
    ["admin", "admin", []],
    ["admin", "superuser", []],
    ["superuser", "user", [...ROLES]],
    ["superuser", "superuser", [...ROLES]],
    ["analyst", "viewer", []],
    ["user", "viewer", []],
  ] as Array<[Role, Role, Role[]]>)(
    "a %s gives a %s %j",
    (actorRole, targetRole, roles) => {
      const actor = account(actorRole);
      const target = account(targetRole);

      expect(assignableRoles(actor, target)).toEqual(roles);
      expect(canManage(actor, target)).toBe(roles.length > 0);
    },
  );

  it("keeps an admin from changing itself", () => {
    const admin = account("admin");

    expect(canManage(admin, admin)).toBe(false);
  });
});
