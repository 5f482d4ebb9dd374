import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, download, upload } from "../../api";
import { t } from "../../i18n";
import { asApiError } from "../../ui/errors";
import { Field } from "../../ui/Field";
import { EditorActions, FormErr, PLACEHOLDERS, scenarioNames, Select, TextArea, type EmailTemplate, type Scenario } from "./common";

const MAX_ATTACHMENTS = 10;

const size = (n: number) =>
  n < 1024
    ? t("sc.size.b", { n })
    : n < 1024 * 1024
      ? t("sc.size.kb", { n: Math.round(n / 1024) })
      : t("sc.size.mb", { n: (n / 1024 / 1024).toFixed(1) });

/** E-mail templates (PRODUCT D3): subject and body with the five
 * placeholders, up to 10 attachments; and the user's own signature, which
 * ends every mail they send. */
export function Templates() {
  const [items, setItems] = useState<EmailTemplate[] | null>(null);
  const [scenarios, setScenarios] = useState<Scenario[]>([]);
  const [editing, setEditing] = useState<EmailTemplate | "new" | null>(null);
  const [opened, setOpened] = useState(0);
  const [error, setError] = useState<ApiError | null>(null);
  const open = (x: EmailTemplate | "new") => (setEditing(x), setOpened((n) => n + 1));

  async function load() {
    try {
      const [ts, ss] = await Promise.all([
        api<EmailTemplate[]>("GET", "/api/email-templates"),
        api<Scenario[]>("GET", "/api/scenarios"),
      ]);
      setItems(ts);
      setScenarios(ss);
    } catch (e) {
      setError(asApiError(e));
    }
  }
  useEffect(() => void load(), []);

  return (
    <div class="admin-grid">
      <div class="stack">
        <section class="card">
          <header class="admin-head">
            <h1>{t("sc.tpl.title")}</h1>
            <button onClick={() => open("new")}>{t("sc.tpl.new")}</button>
          </header>
          <FormErr error={error} placed={[]} />
          {items === null && !error && <p class="muted">{t("loading")}</p>}
          {items?.length === 0 && <p class="muted">{t("sc.tpl.empty")}</p>}
          {!!items?.length && (
            <table class="admin-table">
              <thead>
                <tr>
                  <th>{t("sc.name")}</th>
                  <th>{t("sc.tpl.subject")}</th>
                  <th>{t("sc.tpl.attachments_short")}</th>
                </tr>
              </thead>
              <tbody>
                {items.map((x) => (
                  <tr key={x.id} data-id={x.id}>
                    <td>
                      <button class="link row-open" onClick={() => open(x)}>
                        {x.name}
                      </button>
                    </td>
                    <td>{x.subject}</td>
                    <td>{x.attachments.length || ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <Signature />
      </div>
      {editing && (
        <TemplateForm
          key={opened}
          initial={editing === "new" ? null : editing}
          scenarios={scenarios}
          onDone={() => {
            setEditing(null);
            void load();
          }}
          onSaved={() => void load()}
        />
      )}
    </div>
  );
}

function TemplateForm({
  initial,
  scenarios,
  onDone,
  onSaved,
}: {
  initial: EmailTemplate | null;
  scenarios: Scenario[];
  onDone: () => void;
  onSaved: () => void;
}) {
  const [current, setCurrent] = useState(initial);
  const [name, setName] = useState(initial?.name ?? "");
  const [subject, setSubject] = useState(initial?.subject ?? "");
  const [body, setBody] = useState(initial?.body ?? "");
  const [format, setFormat] = useState<"html" | "text">(initial?.format ?? "text");
  const [error, setError] = useState<ApiError | null>(null);
  const [fileError, setFileError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  // Where a placeholder button inserts: the subject or the body, whichever was last in focus.
  const target = useRef<"subject" | "body">("body");
  const form = useRef<HTMLFormElement>(null);

  function insert(word: string) {
    const token = `%${word}%`;
    const el = form.current?.querySelector<HTMLInputElement | HTMLTextAreaElement>(`[name=${target.current}]`);
    const value = target.current === "subject" ? subject : body;
    const at = el?.selectionStart ?? value.length;
    const end = el?.selectionEnd ?? at;
    const next = value.slice(0, at) + token + value.slice(end);
    (target.current === "subject" ? setSubject : setBody)(next);
    // Back to the field after the re-render, unless the user has moved on
    // meanwhile (the frame can come late): focus is then theirs.
    const clicked = document.activeElement;
    requestAnimationFrame(() => {
      if (document.activeElement !== clicked && document.activeElement !== document.body) return;
      el?.focus();
      el?.setSelectionRange(at + token.length, at + token.length);
    });
  }

  function took(x: EmailTemplate) {
    setCurrent(x);
    setBody(x.body);
    onSaved();
  }

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setSaved(false);
    try {
      const req = { name, subject, body, format, version: current?.version };
      took(
        current
          ? await api<EmailTemplate>("PUT", `/api/email-templates/${current.id}`, req)
          : await api<EmailTemplate>("POST", "/api/email-templates", req),
      );
      setError(null);
      setSaved(true);
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  }

  async function attach(files: FileList | null) {
    if (!current || !files) return;
    setBusy(true);
    setFileError(null);
    try {
      let x = current;
      for (const f of Array.from(files)) {
        x = await upload<EmailTemplate>(
          `/api/email-templates/${x.id}/attachments?file_name=${encodeURIComponent(f.name)}`,
          f,
          f.type || undefined,
        );
        took(x);
      }
    } catch (e) {
      setFileError(asApiError(e));
    } finally {
      setBusy(false);
    }
  }

  async function detach(id: string) {
    if (!current) return;
    try {
      took(await api<EmailTemplate>("DELETE", `/api/email-templates/${current.id}/attachments/${id}`));
      setFileError(null);
    } catch (e) {
      setFileError(asApiError(e));
    }
  }

  async function del() {
    if (!current || !confirm(t("sc.confirm_delete", { name: current.name }))) return;
    setBusy(true);
    try {
      await api("DELETE", `/api/email-templates/${current.id}`);
      onDone();
    } catch (e) {
      setError(asApiError(e));
      setBusy(false);
    }
  }

  const full = (current?.attachments.length ?? 0) >= MAX_ATTACHMENTS;
  return (
    <form ref={form} class="card admin-form wide" onSubmit={save} data-form="template">
      <h2>{current ? current.name : t("sc.tpl.new")}</h2>
      <FormErr error={error} placed={["name", "subject", "body", "format"]} />
      <Field name="name" label={t("sc.name")} value={name} onInput={setName} error={error} />
      <div class="placeholders" role="group" aria-label={t("sc.tpl.insert")}>
        <span class="muted small">{t("sc.tpl.insert")}</span>
        {PLACEHOLDERS.map((p) => (
          <button type="button" class="chip" key={p} onClick={() => insert(p)} title={t("sc.tpl.insert_one", { p: `%${p}%` })}>
            %{p}%
          </button>
        ))}
      </div>
      <div onFocusCapture={() => (target.current = "subject")}>
        <Field name="subject" label={t("sc.tpl.subject")} value={subject} onInput={setSubject} error={error} />
      </div>
      <div onFocusCapture={() => (target.current = "body")}>
        <TextArea name="body" label={t("sc.tpl.body")} value={body} onInput={setBody} error={error} rows={10} />
      </div>
      <Select name="format" label={t("sc.tpl.format")} value={format} onChange={(v) => setFormat(v as "html" | "text")} error={error}>
        <option value="text">{t("sc.tpl.format.text")}</option>
        <option value="html">{t("sc.tpl.format.html")}</option>
      </Select>
      <fieldset class="attachments">
        <legend>{t("sc.tpl.attachments", { n: current?.attachments.length ?? 0, max: MAX_ATTACHMENTS })}</legend>
        {!current && <p class="muted small">{t("sc.tpl.attach_after_save")}</p>}
        <ul>
          {current?.attachments.map((a) => (
            <li key={a.id} data-attachment={a.name}>
              <button type="button" class="link" onClick={() => download(`/api/email-templates/${current.id}/attachments/${a.id}`, a.name).catch((e) => setFileError(asApiError(e)))}>
                {a.name}
              </button>
              <span class="muted small"> {size(a.size)}</span>
              <button type="button" class="link" onClick={() => detach(a.id)}>
                {t("sc.remove")}
              </button>
            </li>
          ))}
        </ul>
        {current && (
          <label class="field">
            <span>{t("sc.tpl.add_files")}</span>
            <input
              type="file"
              name="file"
              multiple
              disabled={busy || full}
              onChange={(e) => {
                const input = e.target as HTMLInputElement;
                void attach(input.files).then(() => (input.value = ""));
              }}
            />
          </label>
        )}
        {fileError && (
          <small class="field-error" data-field={fileError.field ?? "file"}>
            {fileError.message}
          </small>
        )}
      </fieldset>
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

/** The signed-in user's signature (`/api/me/mail-signature`). */
function Signature() {
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    api<{ signature: string }>("GET", "/api/me/mail-signature")
      .then((s) => setText(s.signature))
      .catch((e) => setError(asApiError(e)));
  }, []);

  async function save(e: Event) {
    e.preventDefault();
    setSaved(false);
    try {
      const s = await api<{ signature: string }>("PUT", "/api/me/mail-signature", { signature: text ?? "" });
      setText(s.signature);
      setError(null);
      setSaved(true);
    } catch (e) {
      setError(asApiError(e));
    }
  }

  return (
    <form class="card admin-form" onSubmit={save} data-form="signature">
      <h2>{t("sc.sig.title")}</h2>
      <p class="muted small">{t("sc.sig.hint")}</p>
      <FormErr error={error} placed={["signature"]} />
      {text !== null && <TextArea name="signature" label={t("sc.sig.text")} value={text} onInput={setText} error={error} rows={3} />}
      <div class="actions">
        <button type="submit" disabled={text === null}>
          {t("sc.save")}
        </button>
      </div>
      {saved && (
        <p class="muted" role="status">
          {t("sc.saved")}
        </p>
      )}
    </form>
  );
}
