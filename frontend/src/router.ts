// The pages and who may see them. A page that needs a permission the role
// lacks is not linked from the menu, and typing its address leads back to
// the overview rather than to an error. The pages are few and small, so
// they are built into one script: one file to load, and few to commit.
import {
  createRouter,
  createWebHistory,
  type RouteRecordRaw,
} from "vue-router";

import type { Permission } from "./api";
import AccountPage from "./pages/AccountPage.vue";
import LogPage from "./pages/LogPage.vue";
import LoginPage from "./pages/LoginPage.vue";
import MainPage from "./pages/MainPage.vue";
import NotFoundPage from "./pages/NotFoundPage.vue";
import RecordsPage from "./pages/RecordsPage.vue";
import UsersPage from "./pages/UsersPage.vue";
import ViolatorsPage from "./pages/ViolatorsPage.vue";
import { can, refreshSession, session } from "./session";

declare module "vue-router" {
  interface RouteMeta {
    public?: boolean;
    permission?: Permission;
    title?: string;
  }
}

/** Every page's path; src/sleeplog/web/frontend.py serves index.html for each. */
export const routes: RouteRecordRaw[] = [
  { path: "/", name: "main", component: MainPage },
  {
    path: "/login",
    name: "login",
    component: LoginPage,
    meta: { public: true },
  },
  {
    path: "/register",
    name: "register",
    component: LoginPage,
    meta: { public: true },
  },
  {
    path: "/records/:store?",
    name: "records",
    component: RecordsPage,
    meta: { permission: "records:read" },
  },
  {
    path: "/log",
    name: "log",
    component: LogPage,
    meta: { permission: "log:read" },
  },
  {
    path: "/violators",
    name: "violators",
    component: ViolatorsPage,
    // Everyone's nights with reports:read_all, one's own without.
    meta: { permission: "records:read" },
  },
  {
    path: "/users",
    name: "users",
    component: UsersPage,
    meta: { permission: "users:read" },
  },
  {
    path: "/account",
    name: "account",
    component: AccountPage,
    meta: { permission: "account:self" },
  },
  {
    path: "/:rest(.*)*",
    name: "not-found",
    component: NotFoundPage,
    meta: { public: true },
  },
];

export const router = createRouter({
  history: createWebHistory(),
  routes,
  scrollBehavior: () => ({ top: 0 }),
});

router.beforeEach(async (to) => {
  if (!session.checked) {
    try {
      await refreshSession();
    } catch {
      // The service cannot be reached: the login page says so when used.
    }
  }
  const loggedIn = session.account !== null;
  if ((to.name === "login" || to.name === "register") && loggedIn) {
    return { name: "main" };
  }
  if (!to.meta.public && !loggedIn) {
    return to.fullPath === "/"
      ? { name: "login" }
      : { name: "login", query: { next: to.fullPath } };
  }
  if (to.meta.permission && !can(to.meta.permission)) {
    return { name: "main" };
  }
  return true;
});
