import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type Page, type Phone, type User } from "../api";
import { t, type Key } from "../i18n";
import { navigate, path } from "../router";
import { useSignal } from "../signal";
import { companyUsers, follow } from "../crm";
import { asApiError } from "../ui/errors";
import { me } from "../ui/UserMenu";

interface Search {
  id: string;
  status: "queued" | "running" | "done" | "failed";
  by_phone: boolean;
  by_email: boolean;
  objects: string;
  scope: string;
  cards_scanned: number;
  groups_found: number;
  error: string | null;
}
interface Member {
  id: string;
  kind: string;
  name: string;
  organization: { id: string; name: string } | null;
  phones: Phone[];
  emails: string[];
  responsible: { id: string; name: string };
  updated_at: number;
  changed: boolean;
}
interface Group {
  n: number;
  by: "phone" | "email";
  value: string;
  display: string;
  kind: string;
  total: number;
  resolved: boolean;
  members: Member[];
}
interface Resolved {
  base: { id: string; name: string };
  removed: string[];
  moved_contacts: string[];
  dropped: string[];
}

const finished = (s: Search) => s.status === "done" || s.status === "failed";

/** Duplicates (PRODUCT C9): a search by phone and/or e-mail over the chosen
 * cards runs on the server; its groups show the shared value, and each group
 * is merged into the chosen base card or its other cards deleted. The search
 * is kept in the address (`?search=`), so a reload shows the same groups. */
export function Duplicates() {
  useSignal(path);
  const id = new URLSearchParams(location.search).get("search");
  const [byPhone, setByPhone] = useState(true);
  const [byEmail, setByEmail] = useState(true);
  const [objects, setObjects] = useState("both");
  const [scope, setScope] = useState("account");
  const [chosen, setChosen] = useState<string[]>([]);
  const [users, setUsers] = useState<User[]>([]);
  const [job, setJob] = useState<Search | null>(null);
  const [groups, setGroups] = useState<Group[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => void companyUsers().then(setUsers), []);
  // A manager searches only among their own cards: the only choice offered.
  const manager = useSignal(me)?.role === "manager";
  useEffect(() => {
    if (manager) setScope("own");
  }, [manager]);

  async function loadGroups(after: string | null) {
    const q = new URLSearchParams({ limit: "20" });
    if (after) q.set("cursor", after);
    const page = await api<Page<Group>>("GET", `/api/duplicates/${id}/groups?${q}`);
    setGroups((old) => (after ? [...old, ...page.items] : page.items));
    setCursor(page.cursor ?? null);
  }

  useEffect(() => {
    setGroups([]);
    setCursor(null);
    if (!id) {
      setJob(null);
      return;
    }
    let stop = () => {};
    const seen = (s: Search) => {
      setJob(s);
      if (s.status === "done") loadGroups(null).catch((e) => setError(asApiError(e)));
    };
    api<Search>("GET", `/api/duplicates/${id}`)
      .then((s) => {
        seen(s);
        if (!finished(s)) stop = follow<Search>(`/api/duplicates/${id}`, finished, seen, (e) => setError(asApiError(e)));
      })
      .catch((e) => setError(asApiError(e)));
    return () => stop();
  }, [id]);

  async function start(e: Event) {
    e.preventDefault();
    const body: Record<string, unknown> = { by_phone: byPhone, by_email: byEmail, objects, scope };
    if (scope === "users") body.users = chosen;
    try {
      const s = await api<Search>("POST", "/api/duplicates", body);
      setError(null);
      navigate(`/duplicates?search=${s.id}`);
    } catch (err) {
      setError(asApiError(err));
    }
  }

  const mine = (field: string) =>
    error?.field === field ? (
      <small class="field-error" data-field={field}>
        {error.message}
      </small>
    ) : null;
  const running = job !== null && !finished(job);

  return (
    <section class="card">
      <header class="calling-head">
        <h1>{t("crm.dup.title")}</h1>
        <button class="link" onClick={() => navigate("/contacts")}>
          {t("nav.contacts")}
        </button>
      </header>
      <form class="filters" onSubmit={start} aria-label={t("crm.dup.settings")}>
        <fieldset class="choices">
          <legend>{t("crm.dup.by")}</legend>
          <label class="choice">
            <input type="checkbox" name="by_phone" checked={byPhone} onChange={(e) => setByPhone((e.target as HTMLInputElement).checked)} />
            {t("crm.dup.by_phone")}
          </label>
          <label class="choice">
            <input type="checkbox" name="by_email" checked={byEmail} onChange={(e) => setByEmail((e.target as HTMLInputElement).checked)} />
            {t("crm.dup.by_email")}
          </label>
          {mine("by_phone") ?? mine("by_email")}
        </fieldset>
        <label class="field">
          <span>{t("crm.dup.objects")}</span>
          <select name="objects" value={objects} onChange={(e) => setObjects((e.target as HTMLSelectElement).value)}>
            {["both", "contacts", "organizations"].map((o) => (
              <option key={o} value={o}>
                {t(`crm.dup.objects.${o}` as Key)}
              </option>
            ))}
          </select>
          {mine("objects")}
        </label>
        <label class="field">
          <span>{t("crm.dup.scope")}</span>
          <select name="scope" value={scope} onChange={(e) => setScope((e.target as HTMLSelectElement).value)}>
            {(manager ? ["own"] : ["account", "own", ...(users.length ? ["users"] : [])]).map((o) => (
              <option key={o} value={o}>
                {t(`crm.dup.scope.${o}` as Key)}
              </option>
            ))}
          </select>
          {mine("scope")}
        </label>
        {scope === "users" && (
          <label class="field">
            <span>{t("crm.dup.users")}</span>
            <select
              name="users"
              multiple
              onChange={(e) => setChosen([...(e.target as HTMLSelectElement).selectedOptions].map((o) => o.value))}
            >
              {users.map((u) => (
                <option key={u.id} value={u.id} selected={chosen.includes(u.id)}>
                  {u.full_name}
                </option>
              ))}
            </select>
            {mine("users")}
          </label>
        )}
        <div class="actions">
          <button type="submit" disabled={running}>
            {t("crm.dup.start")}
          </button>
        </div>
      </form>
      {error && !["by_phone", "by_email", "objects", "scope", "users"].includes(error.field ?? "") && (
        <p class="form-error" role="alert">
          {error.message}
        </p>
      )}
      {job && (
        <div class="bulk-progress" role="status" data-status={job.status}>
          {running && <progress aria-label={t("crm.dup.progress")} />}
          <span>
            {job.status === "failed"
              ? t("crm.dup.failed", { why: job.error ?? "" })
              : t(running ? "crm.dup.running" : "crm.dup.done", { scanned: job.cards_scanned, groups: job.groups_found })}
          </span>
        </div>
      )}
      {job?.status === "done" && groups.length === 0 && <p class="muted">{t("crm.dup.none")}</p>}
      <div class="dup-groups">
        {groups.map((g) => (
          <DupGroup key={g.n} search={job!.id} group={g} />
        ))}
      </div>
      {cursor && (
        <button onClick={() => loadGroups(cursor).catch((e) => setError(asApiError(e)))}>{t("contacts.more")}</button>
      )}
    </section>
  );
}

/** One group: the shared value, its cards (the first, oldest, is the suggested
 * base), and merge or delete of the chosen cards. */
function DupGroup({ search, group }: { search: string; group: Group }) {
  const live = group.members.filter((m) => !m.changed);
  const [base, setBase] = useState(live[0]?.id ?? "");
  const [picked, setPicked] = useState<Set<string>>(new Set(live.map((m) => m.id)));
  const [done, setDone] = useState<{ how: "merge" | "delete"; r: Resolved } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const others = [...picked].filter((m) => m !== base);
  async function resolve(how: "merge" | "delete") {
    setBusy(true);
    const body = how === "merge" ? { base, members: others } : { keep: base, members: others };
    try {
      const r = await api<Resolved>("POST", `/api/duplicates/${search}/groups/${group.n}/${how}`, body);
      setDone({ how, r });
      setError(null);
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  }
  const toggle = (id: string) => {
    const next = new Set(picked);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setPicked(next);
  };
  const mark = (text: string) => (text.toLowerCase() === group.value.toLowerCase() ? <mark>{text}</mark> : text);

  return (
    <article class="dup-group" data-n={group.n} data-resolved={group.resolved || done ? "true" : undefined}>
      <h2>
        {t(group.by === "phone" ? "crm.dup.group_phone" : "crm.dup.group_email")} <mark>{group.display}</mark>
        <span class="muted"> · {t("crm.dup.cards", { n: group.total })}</span>
      </h2>
      {group.resolved && !done ? (
        <p class="muted">{t("crm.dup.resolved")}</p>
      ) : done ? (
        <p role="status">
          {t(done.how === "merge" ? "crm.dup.merged" : "crm.dup.deleted", { n: done.r.removed.length })}{" "}
          <a href={`/contacts/${done.r.base.id}`} onClick={(e) => (e.preventDefault(), navigate(`/contacts/${done.r.base.id}`))}>
            {done.r.base.name}
          </a>
          {done.r.dropped.length > 0 && <span class="muted"> {t("crm.dup.dropped", { list: done.r.dropped.join(", ") })}</span>}
        </p>
      ) : (
        <>
          <table class="contacts">
            <thead>
              <tr>
                <th>{t("crm.dup.base")}</th>
                <th>{t("crm.dup.include")}</th>
                <th>{t("contacts.name")}</th>
                <th>{t("contacts.phones")}</th>
                <th>{t("contacts.email")}</th>
                <th>{t("crm.filter.responsible")}</th>
              </tr>
            </thead>
            <tbody>
              {group.members.map((m) => (
                <tr key={m.id} data-id={m.id} class={m.changed ? "changed" : undefined}>
                  <td>
                    <input
                      type="radio"
                      name={`base-${group.n}`}
                      aria-label={t("crm.dup.base_of", { name: m.name })}
                      checked={base === m.id}
                      disabled={m.changed}
                      onChange={() => (setBase(m.id), setPicked(new Set(picked).add(m.id)))}
                    />
                  </td>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={t("crm.dup.include_of", { name: m.name })}
                      checked={picked.has(m.id)}
                      disabled={m.changed || m.id === base}
                      onChange={() => toggle(m.id)}
                    />
                  </td>
                  <td>
                    {m.name}
                    {m.organization && <span class="muted"> · {m.organization.name}</span>}
                    {m.changed && <span class="muted"> · {t("crm.dup.changed")}</span>}
                  </td>
                  <td>
                    {m.phones.map((p, i) => (
                      <span key={p.e164}>
                        {i > 0 && ", "}
                        {p.e164 === group.value ? <mark>{p.display}</mark> : p.display}
                      </span>
                    ))}
                  </td>
                  <td>{m.emails.map((x, i) => <span key={x}>{i > 0 && ", "}{mark(x)}</span>)}</td>
                  <td>{m.responsible.name}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {error && (
            <p class="form-error" role="alert">
              {error.message}
            </p>
          )}
          <div class="actions">
            <button disabled={busy || others.length === 0 || !base} onClick={() => resolve("merge")}>
              {t("crm.dup.merge")}
            </button>
            <button class="danger" disabled={busy || others.length === 0 || !base} onClick={() => resolve("delete")}>
              {t("crm.dup.delete")}
            </button>
          </div>
        </>
      )}
    </article>
  );
}
