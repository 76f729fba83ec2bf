// Signing in and out. The access token lives in memory only (api.ts).
import { post, setAccessToken } from "./api";

export interface Me {
  id: string;
  email: string;
  role: string;
}

interface TokenPair {
  access_token: string;
  expires_in: number;
}

export async function signIn(email: string, password: string): Promise<void> {
  const pair = await post<TokenPair>("/v1/auth/login", { email, password });
  setAccessToken(pair.access_token);
}

export async function register(email: string, password: string): Promise<void> {
  await post("/v1/auth/register", { email, password });
}

export async function signOut(): Promise<void> {
  setAccessToken(null);
}

/** A session the page can resume after a reload (none yet: the token is only in memory). */
export async function resume(): Promise<boolean> {
  return false;
}
