import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, type Page } from "../../api";
import { t } from "../../i18n";
import { navigate } from "../../router";
import { asApiError } from "../../ui/errors";
import { Field } from "../../ui/Field";
import { Script, scriptAnchors } from "../../ui/Script";
import { kindName } from "./CallResults";
import {
  Check,
  FieldErr,
  FormErr,
  isAbout,
  move,
  Select,
  type CallResult,
  type EmailTemplate,
  type MailAccount,
  type Offered,
  type Questionnaire,
  type Scenario,
  type User,
} from "./common";

const PLACED = [
  "name",
  "direction",
  "incoming_number",
  "managers",
  "script",
  "results",
  "result_required",
  "auto_dial",
  "questionnaire",
  "email_template",
  "mail_account",
];

/** What a scenario refers to, loaded once for the editor. */
interface Refs {
  results: CallResult[];
  questionnaires: Questionnaire[];
  templates: EmailTemplate[];
  accounts: MailAccount[];
  users: User[];
  me: User;
}

/** One scenario (PRODUCT D1): its script with a live preview as the calling
 * screen shows it, the results offered in order, and what else the agent
 * works with. `id` "new" makes one. */
export function ScenarioEditor({ id }: { id: string }) {
  const fresh = id === "new";
  const [refs, setRefs] = useState<Refs | null>(null);
  const [current, setCurrent] = useState<Scenario | null>(null);
  const [name, setName] = useState("");
  const [direction, setDirection] = useState<Scenario["direction"]>("outgoing");
  const [number, setNumber] = useState("");
  const [managers, setManagers] = useState<string[]>([]);
  const [script, setScript] = useState("");
  const [offered, setOffered] = useState<Offered[]>([]);
  const [required, setRequired] = useState(false);
  const [autoDial, setAutoDial] = useState(false);
  const [questionnaire, setQuestionnaire] = useState("");
  const [template, setTemplate] = useState("");
  const [account, setAccount] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  function fill(s: Scenario) {
    setCurrent(s);
    setName(s.name);
    setDirection(s.direction);
    setNumber(s.incoming_number ?? "");
    setManagers(s.managers);
    setScript(s.script);
    setOffered(s.results);
    setRequired(s.result_required);
    setAutoDial(s.auto_dial);
    setQuestionnaire(s.questionnaire ?? "");
    setTemplate(s.email_template ?? "");
    setAccount(s.mail_account ?? "");
  }

  useEffect(() => {
    Promise.all([
      api<CallResult[]>("GET", "/api/call-results"),
      api<Questionnaire[]>("GET", "/api/questionnaires"),
      api<EmailTemplate[]>("GET", "/api/email-templates"),
      api<MailAccount[]>("GET", "/api/mail-accounts"),
      api<Page<User>>("GET", "/api/users?limit=500"),
      api<User>("GET", "/api/me"),
      fresh ? Promise.resolve(null) : api<Scenario>("GET", `/api/scenarios/${id}`),
    ])
      .then(([results, questionnaires, templates, accounts, users, me, s]) => {
        setRefs({ results, questionnaires, templates, accounts: accounts.filter((a) => !a.owner), users: users.items, me });
        if (s) fill(s);
        else setManagers([me.id]);
      })
      .catch((e) => setError(asApiError(e)));
  }, [id]);

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setSaved(false);
    try {
      const body = {
        name,
        managers,
        direction,
        incoming_number: direction === "incoming" ? number : null,
        script,
        results: offered.map((o) => ({ result: o.result, comment: o.comment?.trim() || null })),
        result_required: required,
        auto_dial: autoDial,
        questionnaire: questionnaire || null,
        email_template: template || null,
        mail_account: account || null,
        version: current?.version,
      };
      const s = current
        ? await api<Scenario>("PUT", `/api/scenarios/${current.id}`, body)
        : await api<Scenario>("POST", "/api/scenarios", body);
      fill(s);
      setError(null);
      setSaved(true);
      if (fresh) navigate(`/scenarios/edit/${s.id}`);
    } catch (e) {
      setError(asApiError(e));
      // The form is long: bring the field the API names into sight.
      requestAnimationFrame(() =>
        document.querySelector('.scenario-editor [aria-invalid="true"], .scenario-editor .field-error')?.scrollIntoView({ block: "center" }),
      );
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    if (!current || !confirm(t("sc.confirm_delete", { name: current.name }))) return;
    setBusy(true);
    try {
      await api("DELETE", `/api/scenarios/${current.id}`);
      navigate("/scenarios");
    } catch (e) {
      setError(asApiError(e));
      setBusy(false);
    }
  }

  if (!refs) {
    return (
      <section class="card">
        <FormErr error={error} placed={[]} />
        {!error && <p class="muted">{t("loading")}</p>}
      </section>
    );
  }

  const resultName = (rid: string) => refs.results.find((r) => r.id === rid)?.name ?? rid;
  const left = refs.results.filter((r) => !offered.some((o) => o.result === r.id));
  const active = refs.users.filter((u) => u.status !== "deleted");

  return (
    <form class="scenario-editor" onSubmit={save} data-form="scenario">
      <section class="card admin-form">
        <header class="admin-head">
          <h1>{current ? current.name : t("sc.list.new")}</h1>
          <button type="button" class="link" onClick={() => navigate("/scenarios")}>
            {t("sc.back")}
          </button>
        </header>
        <div class="two">
          <Field name="name" label={t("sc.name")} value={name} onInput={setName} error={error} />
          <Select name="direction" label={t("sc.direction")} value={direction} onChange={(v) => setDirection(v as Scenario["direction"])} error={error}>
            <option value="outgoing">{t("sc.direction.outgoing")}</option>
            <option value="incoming">{t("sc.direction.incoming")}</option>
          </Select>
        </div>
        {direction === "incoming" && (
          <Field name="incoming_number" label={t("sc.incoming_number")} value={number} onInput={setNumber} error={error} />
        )}
        {direction === "incoming" && <p class="muted small">{t("sc.incoming_hint")}</p>}
        <div class="field">
          <span>{t("sc.managers")}</span>
          <div class="checks">
            {active.map((u) => (
              <label class="check" key={u.id}>
                <input
                  type="checkbox"
                  name="managers"
                  value={u.id}
                  checked={managers.includes(u.id)}
                  onChange={(e) =>
                    setManagers((e.target as HTMLInputElement).checked ? [...managers, u.id] : managers.filter((m) => m !== u.id))
                  }
                />
                {u.full_name}
              </label>
            ))}
          </div>
          <FieldErr error={error} name="managers" />
        </div>
        <div class="two">
          <Check name="result_required" label={t("sc.result_required")} checked={required} onChange={setRequired} error={error} />
          <Check name="auto_dial" label={t("sc.auto_dial")} checked={autoDial} onChange={setAutoDial} error={error} />
        </div>
        <div class="three">
          <Select name="questionnaire" label={t("sc.questionnaire")} value={questionnaire} onChange={setQuestionnaire} error={error}>
            <option value="">{t("sc.none")}</option>
            {refs.questionnaires.map((q) => (
              <option key={q.id} value={q.id}>
                {q.name}
              </option>
            ))}
          </Select>
          <Select name="email_template" label={t("sc.email_template")} value={template} onChange={setTemplate} error={error}>
            <option value="">{t("sc.none")}</option>
            {refs.templates.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </Select>
          <Select name="mail_account" label={t("sc.mail_account")} value={account} onChange={setAccount} error={error}>
            <option value="">{t("sc.none")}</option>
            {refs.accounts.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} &lt;{a.from_address}&gt;
              </option>
            ))}
          </Select>
        </div>
      </section>

      <section class="card admin-form">
        <h2>{t("sc.results")}</h2>
        <p class="muted small">{t("sc.results_hint")}</p>
        <FieldErr error={error} name="results" exact />
        {offered.length === 0 && <p class="muted">{t("sc.results_none")}</p>}
        <ol class="offered">
          {offered.map((o, i) => (
            <li key={o.result} data-result={resultName(o.result)}>
              <strong>{resultName(o.result)}</strong>
              <span class="muted small">{kindName(refs.results.find((r) => r.id === o.result)?.kind ?? "normal")}</span>
              <input
                name={`results[${i}].comment`}
                placeholder={t("sc.result_comment")}
                aria-label={t("sc.result_comment_of", { name: resultName(o.result) })}
                maxLength={50}
                value={o.comment ?? ""}
                aria-invalid={isAbout(error, `results[${i}]`) ? "true" : undefined}
                onInput={(e) => setOffered(offered.map((x, j) => (j === i ? { ...x, comment: (e.target as HTMLInputElement).value } : x)))}
              />
              <span class="row-tools">
                <button type="button" class="link" title={t("sc.up")} disabled={i === 0} onClick={() => setOffered(move(offered, i, -1))}>
                  ↑
                </button>
                <button type="button" class="link" title={t("sc.down")} disabled={i === offered.length - 1} onClick={() => setOffered(move(offered, i, 1))}>
                  ↓
                </button>
                <button type="button" class="link" onClick={() => setOffered(offered.filter((_, j) => j !== i))}>
                  {t("sc.remove")}
                </button>
              </span>
              <FieldErr error={error} name={`results[${i}]`} />
            </li>
          ))}
        </ol>
        {left.length > 0 && (
          <label class="field inline">
            <span>{t("sc.add_result")}</span>
            <select
              name="add_result"
              value=""
              onChange={(e) => {
                const v = (e.target as HTMLSelectElement).value;
                if (v) setOffered([...offered, { result: v, comment: null }]);
              }}
            >
              <option value="">—</option>
              {left.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {refs.results.length === 0 && (
          <p class="muted">
            {t("sc.no_results_yet")}{" "}
            <a href="/scenarios/results" onClick={(e) => (e.preventDefault(), navigate("/scenarios/results"))}>
              {t("sc.tab.results")}
            </a>
          </p>
        )}
      </section>

      <ScriptEditor script={script} setScript={setScript} error={error} />

      <div class="actions sticky-actions">
        <button type="submit" disabled={busy}>
          {t("sc.save")}
        </button>
        {current && (
          <button type="button" class="danger" disabled={busy} onClick={remove}>
            {t("sc.delete")}
          </button>
        )}
        {saved && (
          <span class="muted" role="status">
            {t("sc.saved")}
          </span>
        )}
        {error && !PLACED.some((p) => isAbout(error, p)) && (
          <span class="form-error" role="alert">
            {error.message}
          </span>
        )}
      </div>
    </form>
  );
}

/** The script as HTML with a few buttons for what the API keeps (headings,
 * emphasis, lists, links, sections and links to them), beside a preview as
 * the agent will see it. */
function ScriptEditor({ script, setScript, error }: { script: string; setScript: (s: string) => void; error: ApiError | null }) {
  const area = useRef<HTMLTextAreaElement>(null);
  const [url, setUrl] = useState("");
  const [section, setSection] = useState("");
  const anchors = scriptAnchors(script);

  /** Puts `before` and `after` around the selection (or `empty` when none). */
  function wrap(before: string, after: string, empty = "") {
    const el = area.current;
    const at = el?.selectionStart ?? script.length;
    const end = el?.selectionEnd ?? at;
    const inner = script.slice(at, end) || empty;
    setScript(script.slice(0, at) + before + inner + after + script.slice(end));
    requestAnimationFrame(() => {
      el?.focus();
      el?.setSelectionRange(at + before.length, at + before.length + inner.length);
    });
  }

  const id = section.trim().replace(/\s+/g, "-").replace(/["<>&]/g, "");
  const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

  return (
    <section class="card script-editor">
      <div class="admin-form">
        <h2>{t("sc.script")}</h2>
        <div class="toolbar" role="toolbar" aria-label={t("sc.script")}>
          <button type="button" class="chip" onClick={() => wrap("<h2>", "</h2>\n", t("sc.tb.heading"))}>H2</button>
          <button type="button" class="chip" onClick={() => wrap("<h3>", "</h3>\n", t("sc.tb.heading"))}>H3</button>
          <button type="button" class="chip" onClick={() => wrap("<p>", "</p>\n")}>¶</button>
          <button type="button" class="chip" title={t("sc.tb.bold")} onClick={() => wrap("<b>", "</b>")}>
            <b>B</b>
          </button>
          <button type="button" class="chip" title={t("sc.tb.italic")} onClick={() => wrap("<i>", "</i>")}>
            <i>I</i>
          </button>
          <button type="button" class="chip" title={t("sc.tb.underline")} onClick={() => wrap("<u>", "</u>")}>
            <u>U</u>
          </button>
          <button type="button" class="chip" title={t("sc.tb.list")} onClick={() => wrap("<ul>\n<li>", "</li>\n</ul>\n")}>
            • —
          </button>
        </div>
        <div class="toolbar">
          <input name="link_url" placeholder="https://…" value={url} aria-label={t("sc.tb.url")} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
          <button type="button" class="chip" disabled={!url.trim()} onClick={() => wrap(`<a href="${escape(url.trim())}">`, "</a>", url.trim())}>
            {t("sc.tb.link")}
          </button>
        </div>
        <div class="toolbar">
          <input name="section_id" placeholder={t("sc.tb.section_name")} value={section} aria-label={t("sc.tb.section_name")} onInput={(e) => setSection((e.target as HTMLInputElement).value)} />
          <button type="button" class="chip" disabled={!id} onClick={() => (wrap(`<h3 id="${id}">`, "</h3>\n", section.trim()), setSection(""))}>
            {t("sc.tb.section")}
          </button>
          <select
            name="link_to_section"
            aria-label={t("sc.tb.jump")}
            value=""
            disabled={!anchors.length}
            onChange={(e) => {
              const to = (e.target as HTMLSelectElement).value;
              if (to) wrap(`<a href="#${escape(to)}">`, "</a>", to);
            }}
          >
            <option value="">{t("sc.tb.jump")}</option>
            {anchors.map((a) => (
              <option key={a} value={a}>
                #{a}
              </option>
            ))}
          </select>
        </div>
        <label class="field">
          <span class="muted small">{t("sc.script_hint")}</span>
          <textarea
            ref={area}
            name="script"
            rows={18}
            class="code"
            value={script}
            aria-invalid={isAbout(error, "script") ? "true" : undefined}
            onInput={(e) => setScript((e.target as HTMLTextAreaElement).value)}
          />
          <FieldErr error={error} name="script" />
        </label>
      </div>
      <div class="preview">
        <h2>{t("sc.preview")}</h2>
        <p class="muted small">{t("sc.preview_hint")}</p>
        {script.trim() ? <Script html={script} class="script preview-script" /> : <p class="muted">{t("sc.preview_empty")}</p>}
      </div>
    </section>
  );
}
