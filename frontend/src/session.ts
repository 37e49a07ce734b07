// Who is logged in, shared by every page. The account comes from
// `GET /api/me`; nothing secret is kept here (the session token lives in an
// HttpOnly cookie the page cannot read).
import { computed, reactive } from "vue";

import { api, ApiError, type Account, type Permission } from "./api";

interface SessionState {
  account: Account | null;
  checked: boolean;
}

export const session = reactive<SessionState>({
  account: null,
  checked: false,
});

export const loggedIn = computed(() => session.account !== null);

/** Whether the logged-in account's role holds `permission`. */
export function can(permission: Permission): boolean {
  return session.account?.permissions.includes(permission) ?? false;
}

/** Ask the server who this browser is logged in as; `null` when nobody. */
export async function refreshSession(): Promise<Account | null> {
  try {
    session.account = await api.me();
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) {
      session.checked = true;
      throw error;
    }
    session.account = null;
    api.forget();
  }
  session.checked = true;
  return session.account;
}

export async function logIn(
  nickname: string,
  password: string,
): Promise<Account> {
  const answer = await api.login(nickname, password);
  session.account = answer.user;
  session.checked = true;
  return answer.user;
}

export function setAccount(account: Account): void {
  session.account = account;
}

/** Forget the account after the server ended the session. */
export function endSession(): void {
  session.account = null;
  api.forget();
}

export async function logOut(everywhere = false): Promise<void> {
  try {
    if (everywhere) {
      await api.logoutAll();
    } else {
      await api.logout();
    }
  } catch (error) {
    // A session that has already ended is as good as logged out.
    if (!(error instanceof ApiError) || error.status !== 401) {
      throw error;
    }
  }
  endSession();
}
