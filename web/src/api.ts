// The API client: JSON over fetch, the session's tokens, and one refresh of
// an expired access token before a request is given up.

export interface ApiErrorBody {
  code: string;
  message: string;
  field?: string;
}

/** An answer other than 2xx, as the API describes it: `{error:{code,message,field?}}`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  constructor(status: number, body: ApiErrorBody) {
    super(body.message);
    this.status = status;
    this.code = body.code;
    this.field = body.field;
  }
}

/** The server could not be reached at all. */
export class OfflineError extends Error {}

export interface Tokens {
  access_token: string;
  refresh_token: string;
}

const STORE_KEY = "callisto.session";

let tokens: Tokens | null = load();
const listeners = new Set<() => void>();

function load(): Tokens | null {
  try {
    const raw = localStorage.getItem(STORE_KEY);
    return raw ? (JSON.parse(raw) as Tokens) : null;
  } catch {
    return null;
  }
}

export function signedIn(): boolean {
  return tokens !== null;
}

export function setTokens(t: Tokens | null) {
  tokens = t;
  if (t) localStorage.setItem(STORE_KEY, JSON.stringify({ access_token: t.access_token, refresh_token: t.refresh_token }));
  else localStorage.removeItem(STORE_KEY);
  listeners.forEach((l) => l());
}

/** Called when the session starts or ends (log-in, log-out, a refused refresh). */
export function onSessionChange(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (tokens) headers.Authorization = `Bearer ${tokens.access_token}`;
  try {
    return await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new OfflineError(String(e));
  }
}

async function refresh(): Promise<boolean> {
  if (!tokens) return false;
  const r = await send("POST", "/api/auth/refresh", { refresh_token: tokens.refresh_token });
  if (!r.ok) {
    setTokens(null);
    return false;
  }
  setTokens((await r.json()) as Tokens);
  return true;
}

async function parse<T>(r: Response): Promise<T> {
  if (r.status === 204) return undefined as T;
  const text = await r.text();
  const value = text ? JSON.parse(text) : undefined;
  if (!r.ok) {
    const body: ApiErrorBody = value?.error ?? { code: "http_" + r.status, message: r.statusText };
    throw new ApiError(r.status, body);
  }
  return value as T;
}

/** Sends a file as the request body (uploads), with the same session handling;
 * `contentType` is the file's own type where the API keeps it. */
export async function upload<T>(path: string, file: Blob, contentType = "application/octet-stream"): Promise<T> {
  const go = async () => {
    const headers: Record<string, string> = { Accept: "application/json", "Content-Type": contentType };
    if (tokens) headers.Authorization = `Bearer ${tokens.access_token}`;
    try {
      return await fetch(path, { method: "POST", headers, body: file });
    } catch (e) {
      throw new OfflineError(String(e));
    }
  };
  let r = await go();
  if (r.status === 401 && tokens && (await refresh())) r = await go();
  return parse<T>(r);
}

/** Downloads a file the API serves to the signed-in user (a plain link has no token). */
export async function download(path: string, name: string): Promise<void> {
  const headers: Record<string, string> = {};
  if (tokens) headers.Authorization = `Bearer ${tokens.access_token}`;
  const r = await fetch(path, { headers });
  if (!r.ok) await parse(r);
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let r = await send(method, path, body);
  if (r.status === 401 && tokens && (await refresh())) {
    r = await send(method, path, body);
  }
  return parse<T>(r);
}

export interface User {
  id: string;
  email: string;
  full_name: string;
  role: string;
  short_number: string | null;
}

export interface Phone {
  e164: string;
  display: string;
}

export interface Client {
  id: string;
  kind: "organization" | "contact";
  name: string;
  phones: Phone[];
  emails: string[];
  city: string | null;
  tags: string[];
  responsible_id: string;
  updated_at: number;
  last_call_at: number | null;
}

export interface Page<T> {
  items: T[];
  cursor: string | null;
}

export async function logIn(email: string, password: string): Promise<void> {
  const r = await api<Tokens>("POST", "/api/auth/login", { email, password });
  setTokens(r);
}

export async function logOut(): Promise<void> {
  if (tokens) {
    await api("POST", "/api/auth/logout", { refresh_token: tokens.refresh_token }).catch(() => undefined);
  }
  setTokens(null);
}
