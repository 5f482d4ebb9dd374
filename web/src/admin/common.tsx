// What the administration screens share: who is signed in, the team's users
// and groups as the API gives them, and form widgets that show the API's
// error next to the field it names.

import type { ComponentChildren } from "preact";
import { api, type ApiError, type Page } from "../api";
import { t, type Key } from "../i18n";
import { navigate, path } from "../router";
import { useSignal } from "../signal";

export type Role = "administrator" | "head" | "group_leader" | "manager";
export const ROLES: Role[] = ["administrator", "head", "group_leader", "manager"];

/** A user as GET /api/users and /api/me answer. */
export interface TeamUser {
  id: string;
  email: string;
  full_name: string;
  role: Role;
  group_id: string | null;
  short_number: string | null;
  status: "active" | "blocked" | "deleted";
  must_change_password: boolean;
  created_at: number;
}

export interface Group {
  id: string;
  name: string;
  description: string;
  created_at: number;
}

/** The signed-in user, read once per visit of an administration screen. */
export const me = () => api<TeamUser>("GET", "/api/me");

/** Every user of the company (the API pages by 500 at most). */
export async function allUsers(): Promise<TeamUser[]> {
  const users: TeamUser[] = [];
  let cursor: string | null = null;
  do {
    const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const page: Page<TeamUser> = await api<Page<TeamUser>>("GET", `/api/users?limit=500${q}`);
    users.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return users;
}

/** What a person sees of an account: invited until they replace the mailed password with their own. */
export function userState(u: TeamUser): "invited" | "active" | "blocked" | "deleted" {
  if (u.status !== "active") return u.status;
  return u.must_change_password ? "invited" : "active";
}

export const roleName = (r: string) => t(`adm.role.${r}` as Key);

/** The API's message when `error` names `name` (or one of its rows). */
export function errorOf(error: ApiError | null, name: string): string | null {
  const f = error?.field;
  return f && (f === name || f.startsWith(`${name}[`) || f.startsWith(`${name}.`)) ? error!.message : null;
}

export function FieldNote({ error, name }: { error: ApiError | null; name: string }) {
  const mine = errorOf(error, name);
  return mine ? (
    <small class="field-error" data-field={name}>
      {mine}
    </small>
  ) : null;
}

interface SelectProps {
  name: string;
  label: string;
  value: string;
  options: [string, string][];
  onChange: (v: string) => void;
  error: ApiError | null;
  disabled?: boolean;
}

/** A labelled choice; the API's error about it is shown under it. */
export function SelectField({ name, label, value, options, onChange, error, disabled }: SelectProps) {
  return (
    <label class="field">
      <span>{label}</span>
      <select
        name={name}
        value={value}
        disabled={disabled}
        aria-invalid={errorOf(error, name) ? "true" : undefined}
        onChange={(e) => onChange((e.target as HTMLSelectElement).value)}
      >
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
      <FieldNote error={error} name={name} />
    </label>
  );
}

export function Check({ name, label, checked, onChange }: { name: string; label: string; checked: boolean; onChange: (v: boolean) => void }) {
  return (
    <label class="choice">
      <input type="checkbox" name={name} checked={checked} onChange={(e) => onChange((e.target as HTMLInputElement).checked)} />
      <span>{label}</span>
    </label>
  );
}

/** Said instead of controls a non-administrator may not use. */
export function AdminsOnly({ children }: { children: ComponentChildren }) {
  return (
    <p class="adm-notice" role="note">
      {children}
    </p>
  );
}

const SETTINGS: [string, Key][] = [
  ["/settings/telephony", "adm.settings.telephony"],
  ["/settings/mail", "adm.settings.mail"],
];

/** The settings screens' own tabs. */
export function SettingsTabs() {
  const here = useSignal(path);
  return (
    <nav class="adm-tabs" aria-label={t("adm.settings.title")}>
      {SETTINGS.map(([to, key]) => (
        <a key={to} href={to} aria-current={here === to ? "page" : undefined} onClick={(e) => (e.preventDefault(), navigate(to))}>
          {t(key)}
        </a>
      ))}
    </nav>
  );
}
