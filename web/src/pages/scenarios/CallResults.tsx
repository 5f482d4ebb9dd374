import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../../api";
import { t, type Key } from "../../i18n";
import { asApiError } from "../../ui/errors";
import { Field } from "../../ui/Field";
import { Check, EditorActions, FieldErr, FormErr, scenarioNames, Select, type CallResult, type Scenario } from "./common";

export const KINDS: [CallResult["kind"], Key][] = [
  ["normal", "sc.kind.normal"],
  ["call_later", "sc.kind.call_later"],
  ["done", "sc.kind.done"],
];

export const kindName = (k: CallResult["kind"]) => t(KINDS.find(([x]) => x === k)?.[1] ?? "sc.kind.normal");

/** The company's call results (PRODUCT D2): what an agent may choose after a
 * call. A result a scenario offers cannot be deleted; the API says which. */
export function CallResults() {
  const [results, setResults] = useState<CallResult[] | null>(null);
  const [scenarios, setScenarios] = useState<Scenario[]>([]);
  const [editing, setEditing] = useState<CallResult | "new" | null>(null);
  // A new form each time one is opened; saving keeps the form (and its "saved").
  const [opened, setOpened] = useState(0);
  const open = (r: CallResult | "new") => (setEditing(r), setOpened((n) => n + 1));
  const [error, setError] = useState<ApiError | null>(null);

  async function load() {
    try {
      const [rs, ss] = await Promise.all([
        api<CallResult[]>("GET", "/api/call-results"),
        api<Scenario[]>("GET", "/api/scenarios"),
      ]);
      setResults(rs);
      setScenarios(ss);
    } catch (e) {
      setError(asApiError(e));
    }
  }
  useEffect(() => void load(), []);

  return (
    <div class="admin-grid">
      <section class="card">
        <header class="admin-head">
          <h1>{t("sc.results.title")}</h1>
          <button onClick={() => open("new")}>{t("sc.results.new")}</button>
        </header>
        <p class="muted">{t("sc.results.hint")}</p>
        <FormErr error={error} placed={[]} />
        {results === null && !error && <p class="muted">{t("loading")}</p>}
        {results?.length === 0 && <p class="muted">{t("sc.results.empty")}</p>}
        {!!results?.length && (
          <table class="admin-table results-table">
            <thead>
              <tr>
                <th>{t("sc.name")}</th>
                <th>{t("sc.results.kind")}</th>
                <th>{t("sc.used_by")}</th>
              </tr>
            </thead>
            <tbody>
              {results.map((r) => (
                <tr key={r.id} data-id={r.id} aria-selected={editing !== "new" && editing?.id === r.id}>
                  <td>
                    <button class="link row-open" onClick={() => open(r)}>
                      <span class="swatch" style={{ background: r.colour ?? "transparent" }} />
                      {r.name}
                    </button>
                  </td>
                  <td>{kindName(r.kind)}</td>
                  <td class="muted">{scenarioNames(r.scenarios, scenarios)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {editing && (
        <ResultForm
          key={opened}
          result={editing === "new" ? null : editing}
          scenarios={scenarios}
          onDone={() => {
            setEditing(null);
            void load();
          }}
          onSaved={(r) => {
            setEditing(r);
            void load();
          }}
        />
      )}
    </div>
  );
}

function ResultForm({
  result,
  scenarios,
  onDone,
  onSaved,
}: {
  result: CallResult | null;
  scenarios: Scenario[];
  onDone: () => void;
  onSaved: (r: CallResult) => void;
}) {
  const [name, setName] = useState(result?.name ?? "");
  const [kind, setKind] = useState<CallResult["kind"]>(result?.kind ?? "normal");
  const [coloured, setColoured] = useState(!!result?.colour);
  const [colour, setColour] = useState(result?.colour ?? "#2e7d32");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setSaved(false);
    try {
      const body = { name, kind, colour: coloured ? colour : null };
      const r = result
        ? await api<CallResult>("PATCH", `/api/call-results/${result.id}`, body)
        : await api<CallResult>("POST", "/api/call-results", body);
      setError(null);
      setSaved(true);
      onSaved(r);
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    if (!result || !confirm(t("sc.confirm_delete", { name: result.name }))) return;
    setBusy(true);
    try {
      await api("DELETE", `/api/call-results/${result.id}`);
      onDone();
    } catch (e) {
      setError(asApiError(e));
      setBusy(false);
    }
  }

  return (
    <form class="card admin-form" onSubmit={save} data-form="call-result">
      <h2>{result ? result.name : t("sc.results.new")}</h2>
      <FormErr error={error} placed={["name", "kind", "colour"]} />
      <Field name="name" label={t("sc.name")} value={name} onInput={setName} error={error} />
      <Select name="kind" label={t("sc.results.kind")} value={kind} onChange={(v) => setKind(v as CallResult["kind"])} error={error}>
        {KINDS.map(([k, key]) => (
          <option key={k} value={k}>
            {t(key)}
          </option>
        ))}
      </Select>
      <p class="muted small">{t(`sc.kind.${kind}.hint` as Key)}</p>
      <Check name="has_colour" label={t("sc.results.coloured")} checked={coloured} onChange={setColoured} error={null} />
      {coloured && (
        <label class="field">
          <span>{t("sc.results.colour")}</span>
          <input type="color" name="colour" value={colour} onInput={(e) => setColour((e.target as HTMLInputElement).value)} />
          <FieldErr error={error} name="colour" />
        </label>
      )}
      {result && result.scenarios.length > 0 && (
        <p class="muted small">{t("sc.results.offered_by", { names: scenarioNames(result.scenarios, scenarios) })}</p>
      )}
      <EditorActions
        saveDisabled={busy}
        busy={busy}
        saved={saved}
        onDone={onDone}
        onDelete={result ? remove : undefined}
      />
    </form>
  );
}
