// Signing in and out with a browser session: the access token in memory (api.ts), the refresh token in an
// HttpOnly cookie that only /v1/auth/session/* receives. Those routes want the CSRF header.
import { ApiError, setAccessToken, setRefresher } from "./api";

export interface Me {
  id: string;
  email: string;
  role: string;
}

interface SessionToken {
  access_token: string;
  expires_in: number;
}

// Not a secret: only whether a session cookie may exist, so a first visit makes no refresh call.
const HINT = "autoindex-session";

async function sessionCall(path: string, body?: unknown): Promise<SessionToken | null> {
  const headers: Record<string, string> = { "X-AutoIndex-CSRF": "1", Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/v1/auth/session/${path}`, {
    method: "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({ status: response.status, title: response.statusText }));
  if (!response.ok) throw new ApiError(response.status, data);
  return data as SessionToken;
}

let refreshing: Promise<boolean> | null = null;

/** One refresh at a time: a rotated cookie presented twice would end the session (reuse detection). */
function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const token = await sessionCall("refresh");
      setAccessToken(token ? token.access_token : null);
      return token !== null;
    } catch {
      setAccessToken(null);
      localStorage.removeItem(HINT);
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

setRefresher(refresh);

export async function signIn(email: string, password: string): Promise<void> {
  const token = await sessionCall("login", { email, password });
  setAccessToken(token ? token.access_token : null);
  localStorage.setItem(HINT, "1");
}

export async function register(email: string, password: string): Promise<void> {
  const response = await fetch("/v1/auth/register", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ email, password }),
    credentials: "omit",
  });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
}

export async function signOut(): Promise<void> {
  setAccessToken(null);
  localStorage.removeItem(HINT);
  await sessionCall("logout").catch(() => null);
}

/** After a reload: a new access token from the session cookie, if there is a session. */
export async function resume(): Promise<boolean> {
  if (!localStorage.getItem(HINT)) return false;
  return refresh();
}
