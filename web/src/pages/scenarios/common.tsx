// What the scenario administration screens share: the API's shapes and
// form controls that show the API's error next
// to the field it names.

import type { ComponentChildren } from "preact";
import type { ApiError } from "../../api";
import { t } from "../../i18n";

export interface CallResult {
  id: string;
  name: string;
  kind: "normal" | "call_later" | "done";
  colour: string | null;
  scenarios: string[];
}

export interface Offered {
  result: string;
  comment: string | null;
}

export interface Scenario {
  id: string;
  name: string;
  managers: string[];
  direction: "outgoing" | "incoming";
  incoming_number: string | null;
  script: string;
  results: Offered[];
  result_required: boolean;
  auto_dial: boolean;
  questionnaire: string | null;
  email_template: string | null;
  mail_account: string | null;
  updated_at: number;
  version: number;
}

export type QuestionKind = "single_choice" | "multiple_choice" | "text" | "number" | "date";
export const QUESTION_KINDS: QuestionKind[] = ["single_choice", "multiple_choice", "text", "number", "date"];

export interface Question {
  id?: string;
  text: string;
  kind: QuestionKind;
  required: boolean;
  options: string[];
}

export interface Questionnaire {
  id: string;
  name: string;
  questions: Question[];
  scenarios: string[];
  version: number;
}

export interface Attachment {
  id: string;
  name: string;
  size: number;
  content_type: string;
}

export interface EmailTemplate {
  id: string;
  name: string;
  subject: string;
  body: string;
  format: "html" | "text";
  attachments: Attachment[];
  scenarios: string[];
  version: number;
}

export interface MailAccount {
  id: string;
  owner: string | null;
  name: string;
  from_address: string;
}

export interface User {
  id: string;
  full_name: string;
  email: string;
  role: string;
  status: string;
}

export interface WorkList {
  id: string;
  name: string;
  scenario: string;
  filter: {
    kind?: "organization" | "contact" | null;
    tags?: string[];
    responsible?: string[];
    not_called?: boolean;
  };
  calling_hours: string;
  retry_after_min: number;
  version: number;
}

/** The placeholders a template may use (core/domain/src/mail.rs). */
export const PLACEHOLDERS = ["FIRSTNAME", "LASTNAME", "PATRONYMIC", "FIRM_NAME", "FULLNAME"] as const;

/** Is the API's error about `name` (`name`, `name[2]`, `name.tags`)? */
export function isAbout(error: ApiError | null, name: string): boolean {
  const f = error?.field;
  return !!f && (f === name || f.startsWith(name + "[") || f.startsWith(name + "."));
}

/** The API's error, when it names this field (`exact`: not one of its parts). */
export function FieldErr({ error, name, exact }: { error: ApiError | null; name: string; exact?: boolean }) {
  if (exact ? error?.field !== name : !isAbout(error, name)) return null;
  return (
    <small class="field-error" data-field={name}>
      {error!.message}
    </small>
  );
}

/** An error that names none of the form's fields (`placed`), shown above it. */
export function FormErr({ error, placed }: { error: ApiError | null; placed: string[] }) {
  if (!error || placed.some((p) => isAbout(error, p))) return null;
  return (
    <p class="form-error" role="alert">
      {error.message}
    </p>
  );
}

interface Common {
  name: string;
  label: string;
  error: ApiError | null;
}

export function TextArea({ name, label, value, onInput, error, rows = 4 }: Common & { value: string; onInput: (v: string) => void; rows?: number }) {
  return (
    <label class="field">
      <span>{label}</span>
      <textarea
        name={name}
        rows={rows}
        value={value}
        aria-invalid={isAbout(error, name) ? "true" : undefined}
        onInput={(e) => onInput((e.target as HTMLTextAreaElement).value)}
      />
      <FieldErr error={error} name={name} />
    </label>
  );
}

export function Select({ name, label, value, onChange, error, children }: Common & { value: string; onChange: (v: string) => void; children: ComponentChildren }) {
  return (
    <label class="field">
      <span>{label}</span>
      <select
        name={name}
        value={value}
        aria-invalid={isAbout(error, name) ? "true" : undefined}
        onChange={(e) => onChange((e.target as HTMLSelectElement).value)}
      >
        {children}
      </select>
      <FieldErr error={error} name={name} />
    </label>
  );
}

export function Check({ name, label, checked, onChange, error }: Common & { checked: boolean; onChange: (v: boolean) => void }) {
  return (
    <div>
      <label class="check">
        <input type="checkbox" name={name} checked={checked} onChange={(e) => onChange((e.target as HTMLInputElement).checked)} />
        {label}
      </label>
      <FieldErr error={error} name={name} />
    </div>
  );
}

/** Moves item `i` of a list by `by` places (−1 up, +1 down). */
export function move<T>(items: T[], i: number, by: number): T[] {
  const j = i + by;
  if (j < 0 || j >= items.length) return items;
  const out = items.slice();
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}

/** Names of the scenarios among `ids`, for "used by" notes. */
export function scenarioNames(ids: string[], scenarios: Scenario[]): string {
  return ids.map((id) => scenarios.find((s) => s.id === id)?.name ?? id).join(", ");
}

/** An editor's buttons: save, close, and delete for what already exists
 * (`onDelete` absent: nothing to delete yet); "saved" once it was. */
export function EditorActions({
  saveDisabled,
  busy,
  saved,
  onDone,
  onDelete,
}: {
  saveDisabled: boolean;
  busy: boolean;
  saved: boolean;
  onDone: () => void;
  onDelete?: () => void;
}) {
  return (
    <>
      <div class="actions">
        <button type="submit" disabled={saveDisabled}>
          {t("sc.save")}
        </button>
        <button type="button" class="secondary" onClick={onDone}>
          {t("sc.close")}
        </button>
        {onDelete && (
          <button type="button" class="danger" disabled={busy} onClick={onDelete}>
            {t("sc.delete")}
          </button>
        )}
      </div>
      {saved && (
        <p class="muted" role="status">
          {t("sc.saved")}
        </p>
      )}
    </>
  );
}
