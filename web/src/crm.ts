// The contact list's filter as the address carries it, and what the CRM
// screens share: the company's users, and following a queued job to its end.

import { api, type Page, type User } from "./api";
import { path } from "./router";

/** The filter fields of GET /api/clients (and of export and bulk actions). */
export const FILTER_KEYS = [
  "q",
  "kind",
  "tags",
  "responsible",
  "client_type",
  "modified_from",
  "modified_to",
  "not_called",
  "local_time",
] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filter = Partial<Record<FilterKey, string>>;

/** The filter in the address bar's query. */
export function readFilter(search = location.search): Filter {
  const q = new URLSearchParams(search);
  const f: Filter = {};
  for (const k of FILTER_KEYS) {
    const v = q.get(k);
    if (v) f[k] = v;
  }
  return f;
}

/** The filter as query parameters (empty fields left out). */
export function filterQuery(f: Filter): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of FILTER_KEYS) {
    const v = f[k]?.trim();
    if (v) q.set(k, v);
  }
  return q;
}

/** The filter as a bulk action's body carries it: `not_called` a boolean. */
export function filterBody(f: Filter): Record<string, string | boolean> {
  const body: Record<string, string | boolean> = {};
  for (const [k, v] of filterQuery(f)) body[k] = k === "not_called" ? v === "true" : v;
  return body;
}

/** Puts the filter in the address: a new history entry, or (while typing) the same one. */
export function writeFilter(f: Filter, replace = false) {
  const q = filterQuery(f).toString();
  const to = location.pathname + (q ? `?${q}` : "");
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  path.set(location.pathname);
}

let users: Promise<User[]> | null = null;

/** The company's active users (for "responsible"), or none if the caller may not list them. */
export function companyUsers(): Promise<User[]> {
  users ??= (async () => {
    const all: User[] = [];
    let cursor: string | undefined;
    do {
      const q = new URLSearchParams({ limit: "500" });
      if (cursor) q.set("cursor", cursor);
      const page = await api<Page<User & { status: string }>>("GET", `/api/users?${q}`);
      all.push(...page.items.filter((u) => u.status === "active"));
      cursor = page.cursor ?? undefined;
    } while (cursor);
    return all;
  })().catch(() => []);
  return users;
}

/** Asks `url` every `ms` until `finished(job)`, passing each answer to `seen`;
 * the returned function stops asking. */
export function follow<J>(url: string, finished: (j: J) => boolean, seen: (j: J) => void, failed: (e: unknown) => void, ms = 500) {
  let stopped = false;
  let timer = 0;
  const ask = async () => {
    try {
      const j = await api<J>("GET", url);
      if (stopped) return;
      seen(j);
      if (!finished(j)) timer = window.setTimeout(ask, ms);
    } catch (e) {
      if (!stopped) failed(e);
    }
  };
  timer = window.setTimeout(ask, ms);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
