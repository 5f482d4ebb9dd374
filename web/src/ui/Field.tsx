import type { ApiError } from "../api";

interface Props {
  name: string;
  label: string;
  type?: string;
  value: string;
  onInput: (v: string) => void;
  /** The API's error, shown here when it names this field. */
  error: ApiError | null;
  autocomplete?: string;
}

export function Field({ name, label, type = "text", value, onInput, error, autocomplete }: Props) {
  // `phones[1]` is about the phones field.
  const mine = error?.field === name || error?.field?.startsWith(`${name}[`) ? error.message : null;
  return (
    <label class="field">
      <span>{label}</span>
      <input
        name={name}
        type={type}
        value={value}
        autocomplete={autocomplete}
        aria-invalid={mine ? "true" : undefined}
        onInput={(e) => onInput((e.target as HTMLInputElement).value)}
      />
      {mine && (
        <small class="field-error" data-field={name}>
          {mine}
        </small>
      )}
    </label>
  );
}

/** An error that names no field of the form, shown above it. */
export function FormError({ error, fields }: { error: ApiError | null; fields: string[] }) {
  if (!error || (error.field && fields.includes(error.field.replace(/\[\d+\]$/, "")))) return null;
  return (
    <p class="form-error" role="alert">
      {error.message}
    </p>
  );
}
