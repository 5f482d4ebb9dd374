import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type Page } from "../../api";
import { t } from "../../i18n";
import { asApiError } from "../../ui/errors";
import { Field } from "../../ui/Field";
import { Check, EditorActions, FieldErr, FormErr, Select, type Scenario, type User, type WorkList } from "./common";

/** The stored filter, as far as this screen reads it back. */
type Stored = WorkList["filter"] & {
  client_type?: string | null;
  local_time?: { from: number; to: number } | null;
  modified_from?: number | null;
  modified_to?: number | null;
};

const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
const day = (ms: number) => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
};

/** What the form does not edit but must send back unchanged: the filter
 * conditions a list made through the API may have besides tags, responsible,
 * type and "not called yet" (the API takes them as the card list's query). */
function untouched(f: Stored): Record<string, string> {
  const out: Record<string, string> = {};
  if (f.client_type) out.client_type = f.client_type;
  if (f.local_time) out.local_time = `${hhmm(f.local_time.from)}-${hhmm(f.local_time.to)}`;
  if (f.modified_from != null) out.modified_from = day(f.modified_from);
  // Stored as the start of the day after the last one.
  if (f.modified_to != null) out.modified_to = day(f.modified_to - 1);
  return out;
}

/** Work lists (PRODUCT E1): a scenario and the cards to call by it, when,
 * and how soon a called client is offered again. Agents pick them on the
 * calling screen. */
export function WorkLists() {
  const [lists, setLists] = useState<WorkList[] | null>(null);
  const [scenarios, setScenarios] = useState<Scenario[]>([]);
  const [users, setUsers] = useState<User[]>([]);
  const [tags, setTags] = useState<string[]>([]);
  const [editing, setEditing] = useState<WorkList | "new" | null>(null);
  const [opened, setOpened] = useState(0);
  const [error, setError] = useState<ApiError | null>(null);
  const open = (l: WorkList | "new") => (setEditing(l), setOpened((n) => n + 1));

  async function load() {
    try {
      const [ls, ss, us, tg] = await Promise.all([
        api<WorkList[]>("GET", "/api/work-lists"),
        api<Scenario[]>("GET", "/api/scenarios"),
        api<Page<User>>("GET", "/api/users?limit=500"),
        api<{ tags: string[] }>("GET", "/api/tags"),
      ]);
      setLists(ls);
      setScenarios(ss);
      setUsers(us.items);
      setTags(tg.tags);
    } catch (e) {
      setError(asApiError(e));
    }
  }
  useEffect(() => void load(), []);

  const userName = (id: string) => users.find((u) => u.id === id)?.full_name ?? id;
  const summary = (l: WorkList) =>
    [
      l.filter.tags?.length ? t("sc.wl.sum.tags", { tags: l.filter.tags.join(", ") }) : "",
      l.filter.responsible?.length ? t("sc.wl.sum.responsible", { names: l.filter.responsible.map(userName).join(", ") }) : "",
      l.filter.kind ? t(l.filter.kind === "contact" ? "sc.wl.kind.contact" : "sc.wl.kind.organization") : "",
      l.filter.not_called ? t("sc.wl.not_called") : "",
    ]
      .filter(Boolean)
      .join("; ") || t("sc.wl.sum.all");

  return (
    <div class="admin-grid">
      <section class="card">
        <header class="admin-head">
          <h1>{t("sc.wl.title")}</h1>
          <button onClick={() => open("new")} disabled={!scenarios.length}>
            {t("sc.wl.new")}
          </button>
        </header>
        <p class="muted">{scenarios.length || lists === null ? t("sc.wl.hint") : t("sc.wl.no_scenarios")}</p>
        <FormErr error={error} placed={[]} />
        {lists === null && !error && <p class="muted">{t("loading")}</p>}
        {lists?.length === 0 && <p class="muted">{t("sc.wl.empty")}</p>}
        {!!lists?.length && (
          <table class="admin-table">
            <thead>
              <tr>
                <th>{t("sc.name")}</th>
                <th>{t("sc.wl.scenario")}</th>
                <th>{t("sc.wl.cards")}</th>
                <th>{t("sc.wl.hours")}</th>
                <th>{t("sc.wl.retry")}</th>
              </tr>
            </thead>
            <tbody>
              {lists.map((l) => (
                <tr key={l.id} data-id={l.id}>
                  <td>
                    <button class="link row-open" onClick={() => open(l)}>
                      {l.name}
                    </button>
                  </td>
                  <td>{scenarios.find((s) => s.id === l.scenario)?.name ?? t("sc.wl.scenario_gone")}</td>
                  <td class="muted">{summary(l)}</td>
                  <td>{l.calling_hours}</td>
                  <td>{t("sc.wl.minutes", { n: l.retry_after_min })}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {editing && (
        <ListForm
          key={opened}
          initial={editing === "new" ? null : editing}
          scenarios={scenarios}
          users={users}
          tags={tags}
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

function ListForm({
  initial,
  scenarios,
  users,
  tags: known,
  onDone,
  onSaved,
}: {
  initial: WorkList | null;
  scenarios: Scenario[];
  users: User[];
  tags: string[];
  onDone: () => void;
  onSaved: () => void;
}) {
  const f: Stored = initial?.filter ?? {};
  const [current, setCurrent] = useState(initial);
  const [name, setName] = useState(initial?.name ?? "");
  const [scenario, setScenario] = useState(initial?.scenario ?? scenarios[0]?.id ?? "");
  const [tags, setTags] = useState((f.tags ?? []).join(", "));
  const [responsible, setResponsible] = useState<string[]>(f.responsible ?? []);
  const [kind, setKind] = useState(f.kind ?? "");
  const [notCalled, setNotCalled] = useState(!!f.not_called);
  const [hours, setHours] = useState(initial?.calling_hours ?? "09:00-21:00");
  const [retry, setRetry] = useState(String(initial?.retry_after_min ?? 240));
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);

  const typed = tags
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

  async function save(e: Event) {
    e.preventDefault();
    const minutes = Number(retry);
    if (!/^\d+$/.test(retry.trim()) || !Number.isSafeInteger(minutes)) {
      setError(new ApiError(0, { code: "invalid_field", field: "retry_after_min", message: t("sc.wl.retry_number") }));
      return;
    }
    setBusy(true);
    setSaved(false);
    try {
      const req = {
        name,
        scenario,
        filter: {
          ...untouched(current?.filter ?? {}),
          tags: typed.join(","),
          responsible: responsible.join(","),
          kind: kind || undefined,
          not_called: notCalled || undefined,
        },
        calling_hours: hours,
        retry_after_min: minutes,
        version: current?.version,
      };
      const l = current
        ? await api<WorkList>("PUT", `/api/work-lists/${current.id}`, req)
        : await api<WorkList>("POST", "/api/work-lists", req);
      setCurrent(l);
      setError(null);
      setSaved(true);
      onSaved();
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
      await api("DELETE", `/api/work-lists/${current.id}?version=${current.version}`);
      onDone();
    } catch (e) {
      setError(asApiError(e));
      setBusy(false);
    }
  }

  return (
    <form class="card admin-form" onSubmit={save} data-form="work-list">
      <h2>{current ? current.name : t("sc.wl.new")}</h2>
      <FormErr error={error} placed={["name", "scenario", "filter", "calling_hours", "retry_after_min"]} />
      <Field name="name" label={t("sc.name")} value={name} onInput={setName} error={error} />
      <Select name="scenario" label={t("sc.wl.scenario")} value={scenario} onChange={setScenario} error={error}>
        {scenarios.map((s) => (
          <option key={s.id} value={s.id}>
            {s.name}
          </option>
        ))}
      </Select>
      <fieldset class="group">
        <legend>{t("sc.wl.cards")}</legend>
        <Field name="filter.tags" label={t("sc.wl.tags")} value={tags} onInput={setTags} error={error} />
        {known.length > 0 && (
          <div class="placeholders">
            {known.slice(0, 30).map((tag) => (
              <button
                type="button"
                key={tag}
                class="chip"
                aria-pressed={typed.includes(tag)}
                onClick={() => setTags((typed.includes(tag) ? typed.filter((x) => x !== tag) : [...typed, tag]).join(", "))}
              >
                {tag}
              </button>
            ))}
          </div>
        )}
        <div class="field">
          <span>{t("sc.wl.responsible")}</span>
          <div class="checks">
            {users.map((u) => (
              <label class="check" key={u.id}>
                <input
                  type="checkbox"
                  name="filter.responsible"
                  value={u.id}
                  checked={responsible.includes(u.id)}
                  onChange={(e) =>
                    setResponsible(
                      (e.target as HTMLInputElement).checked ? [...responsible, u.id] : responsible.filter((x) => x !== u.id),
                    )
                  }
                />
                {u.full_name}
              </label>
            ))}
          </div>
          <small class="muted">{t("sc.wl.responsible_hint")}</small>
          <FieldErr error={error} name="filter.responsible" />
        </div>
        <Select name="filter.kind" label={t("sc.wl.kind")} value={kind} onChange={(v) => setKind(v as typeof kind)} error={error}>
          <option value="">{t("sc.wl.kind.any")}</option>
          <option value="organization">{t("sc.wl.kind.organization")}</option>
          <option value="contact">{t("sc.wl.kind.contact")}</option>
        </Select>
        <Check name="filter.not_called" label={t("sc.wl.not_called")} checked={notCalled} onChange={setNotCalled} error={error} />
        <FieldErr error={error} name="filter" exact />
      </fieldset>
      <Field name="calling_hours" label={t("sc.wl.hours_field")} value={hours} onInput={setHours} error={error} />
      <Field name="retry_after_min" label={t("sc.wl.retry_field")} type="number" value={retry} onInput={setRetry} error={error} />
      <EditorActions
        saveDisabled={busy || !scenario}
        busy={busy}
        saved={saved}
        onDone={onDone}
        onDelete={current ? del : undefined}
      />
    </form>
  );
}
