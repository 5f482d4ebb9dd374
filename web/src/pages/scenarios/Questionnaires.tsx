import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../../api";
import { t, type Key } from "../../i18n";
import { asApiError } from "../../ui/errors";
import { Field } from "../../ui/Field";
import { Check, EditorActions, FieldErr, FormErr, move, QUESTION_KINDS, scenarioNames, type Question, type QuestionKind, type Questionnaire, type Scenario } from "./common";

const isChoice = (k: QuestionKind) => k === "single_choice" || k === "multiple_choice";

/** Questionnaires (PRODUCT D4): the questions an agent asks during a call,
 * attached to a scenario. One a scenario uses cannot be deleted. */
export function Questionnaires() {
  const [items, setItems] = useState<Questionnaire[] | null>(null);
  const [scenarios, setScenarios] = useState<Scenario[]>([]);
  const [editing, setEditing] = useState<Questionnaire | "new" | null>(null);
  const [opened, setOpened] = useState(0);
  const [error, setError] = useState<ApiError | null>(null);
  const open = (q: Questionnaire | "new") => (setEditing(q), setOpened((n) => n + 1));

  async function load() {
    try {
      const [qs, ss] = await Promise.all([
        api<Questionnaire[]>("GET", "/api/questionnaires"),
        api<Scenario[]>("GET", "/api/scenarios"),
      ]);
      setItems(qs);
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
          <h1>{t("sc.q.title")}</h1>
          <button onClick={() => open("new")}>{t("sc.q.new")}</button>
        </header>
        <FormErr error={error} placed={[]} />
        {items === null && !error && <p class="muted">{t("loading")}</p>}
        {items?.length === 0 && <p class="muted">{t("sc.q.empty")}</p>}
        {!!items?.length && (
          <table class="admin-table">
            <thead>
              <tr>
                <th>{t("sc.name")}</th>
                <th>{t("sc.q.questions")}</th>
                <th>{t("sc.used_by")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((q) => (
                <tr key={q.id} data-id={q.id}>
                  <td>
                    <button class="link row-open" onClick={() => open(q)}>
                      {q.name}
                    </button>
                  </td>
                  <td>{q.questions.length}</td>
                  <td class="muted">{scenarioNames(q.scenarios, scenarios)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {editing && (
        <QuestionnaireForm
          key={opened}
          initial={editing === "new" ? null : editing}
          scenarios={scenarios}
          onDone={() => {
            setEditing(null);
            void load();
          }}
          onSaved={(q) => {
            setEditing(q);
            void load();
          }}
        />
      )}
    </div>
  );
}

const blank = (): Question => ({ text: "", kind: "single_choice", required: false, options: [] });

function QuestionnaireForm({
  initial,
  scenarios,
  onDone,
  onSaved,
}: {
  initial: Questionnaire | null;
  scenarios: Scenario[];
  onDone: () => void;
  onSaved: (q: Questionnaire) => void;
}) {
  const [current, setCurrent] = useState(initial);
  const [name, setName] = useState(initial?.name ?? "");
  const [questions, setQuestions] = useState<Question[]>(initial?.questions ?? [blank()]);
  // The options of each choice as typed: one a line.
  const [options, setOptions] = useState<string[]>((initial?.questions ?? [blank()]).map((q) => q.options.join("\n")));
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  const change = (i: number, patch: Partial<Question>) =>
    setQuestions(questions.map((q, j) => (j === i ? { ...q, ...patch } : q)));
  const reorder = (i: number, by: number) => {
    setQuestions(move(questions, i, by));
    setOptions(move(options, i, by));
  };
  const remove = (i: number) => {
    setQuestions(questions.filter((_, j) => j !== i));
    setOptions(options.filter((_, j) => j !== i));
  };

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setSaved(false);
    try {
      const body = {
        name,
        questions: questions.map((q, i) => ({
          ...q,
          options: isChoice(q.kind)
            ? options[i]
                .split("\n")
                .map((o) => o.trim())
                .filter(Boolean)
            : [],
        })),
        version: current?.version,
      };
      const q = current
        ? await api<Questionnaire>("PUT", `/api/questionnaires/${current.id}`, body)
        : await api<Questionnaire>("POST", "/api/questionnaires", body);
      setCurrent(q);
      setQuestions(q.questions);
      setOptions(q.questions.map((x) => x.options.join("\n")));
      setError(null);
      setSaved(true);
      onSaved(q);
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  }

  async function del() {
    if (!current || !confirm(t("sc.confirm_delete", { name: current.name }))) return;
    setBusy(true);
    try {
      await api("DELETE", `/api/questionnaires/${current.id}`);
      onDone();
    } catch (e) {
      setError(asApiError(e));
      setBusy(false);
    }
  }

  return (
    <form class="card admin-form wide" onSubmit={save} data-form="questionnaire">
      <h2>{current ? current.name : t("sc.q.new")}</h2>
      <FormErr error={error} placed={["name", "questions"]} />
      <Field name="name" label={t("sc.name")} value={name} onInput={setName} error={error} />
      <FieldErr error={error} name="questions" exact />
      <ol class="questions">
        {questions.map((q, i) => (
          <li key={i} class="question" data-question={i}>
            <label class="field">
              <span>{t("sc.q.text", { n: i + 1 })}</span>
              <input
                name={`questions[${i}].text`}
                value={q.text}
                aria-invalid={error?.field === `questions[${i}].text` ? "true" : undefined}
                onInput={(e) => change(i, { text: (e.target as HTMLInputElement).value })}
              />
              <FieldErr error={error} name={`questions[${i}].text`} />
            </label>
            <div class="row">
              <label class="field">
                <span>{t("sc.q.kind")}</span>
                <select
                  name={`questions[${i}].kind`}
                  value={q.kind}
                  onChange={(e) => change(i, { kind: (e.target as HTMLSelectElement).value as QuestionKind })}
                >
                  {QUESTION_KINDS.map((k) => (
                    <option key={k} value={k}>
                      {t(`sc.q.kind.${k}` as Key)}
                    </option>
                  ))}
                </select>
                <FieldErr error={error} name={`questions[${i}].kind`} />
              </label>
              <Check
                name={`questions[${i}].required`}
                label={t("sc.q.required")}
                checked={q.required}
                onChange={(v) => change(i, { required: v })}
                error={null}
              />
              <span class="row-tools">
                <button type="button" class="link" title={t("sc.up")} disabled={i === 0} onClick={() => reorder(i, -1)}>
                  ↑
                </button>
                <button type="button" class="link" title={t("sc.down")} disabled={i === questions.length - 1} onClick={() => reorder(i, 1)}>
                  ↓
                </button>
                <button type="button" class="link" onClick={() => remove(i)}>
                  {t("sc.remove")}
                </button>
              </span>
            </div>
            {isChoice(q.kind) && (
              <label class="field">
                <span>{t("sc.q.options")}</span>
                <textarea
                  name={`questions[${i}].options`}
                  rows={3}
                  value={options[i]}
                  aria-invalid={error?.field === `questions[${i}].options` ? "true" : undefined}
                  onInput={(e) => setOptions(options.map((o, j) => (j === i ? (e.target as HTMLTextAreaElement).value : o)))}
                />
                <FieldErr error={error} name={`questions[${i}].options`} />
              </label>
            )}
          </li>
        ))}
      </ol>
      <div>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setQuestions([...questions, blank()]);
            setOptions([...options, ""]);
          }}
        >
          {t("sc.q.add")}
        </button>
      </div>
      {current && current.scenarios.length > 0 && (
        <p class="muted small">{t("sc.used_by_note", { names: scenarioNames(current.scenarios, scenarios) })}</p>
      )}
      <EditorActions
        saveDisabled={busy}
        busy={busy}
        saved={saved}
        onDone={onDone}
        onDelete={current ? del : undefined}
      />
    </form>
  );
}
