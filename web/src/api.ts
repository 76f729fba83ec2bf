// The API client: same origin, the access token held in memory only, problem+json turned into ApiError.

export interface Problem {
  title?: string;
  status?: number;
  detail?: string;
  errors?: { loc?: (string | number)[]; msg?: string }[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail || problem.title || `HTTP ${status}`);
  }
}

let accessToken: string | null = null;
let onSignedOut: () => void = () => {};

export function setAccessToken(token: string | null): void {
  accessToken = token;
}

export function signedIn(): boolean {
  return accessToken !== null;
}

export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

type Refresher = () => Promise<boolean>;
let refresher: Refresher = async () => false;

export function setRefresher(fn: Refresher): void {
  refresher = fn;
}

async function problemOf(response: Response): Promise<Problem> {
  try {
    return (await response.json()) as Problem;
  } catch {
    return { status: response.status, title: response.statusText || "Error" };
  }
}

export async function request<T>(method: string, path: string, body?: unknown, retry = true): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit", // every API route authenticates by header; only the session routes use the cookie
  });
  if (response.status === 401 && accessToken && retry) {
    // The access token expired: one silent refresh, then the same request again.
    if (await refresher()) return request<T>(method, path, body, false);
    accessToken = null;
    onSignedOut();
  }
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export const get = <T>(path: string): Promise<T> => request<T>("GET", path);
export const post = <T>(path: string, body?: unknown): Promise<T> => request<T>("POST", path, body);
export const put = <T>(path: string, body?: unknown): Promise<T> => request<T>("PUT", path, body);
export const del = <T>(path: string): Promise<T> => request<T>("DELETE", path);

export function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== null && value !== undefined && value !== "") search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : "";
}
