import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, download, type Client, type Page, type User } from "../api";
import { lang, t } from "../i18n";
import { navigate, path } from "../router";
import { useSignal } from "../signal";
import { companyUsers, filterQuery, readFilter, writeFilter, type Filter, type FilterKey } from "../crm";
import { asApiError } from "../ui/errors";
import { BulkPanel } from "./BulkPanel";

const PAGE = 50;
/** Requests one "show more" makes at most before showing what it found. */
const MAX_ROUNDS = 8;

/** The contact list (PRODUCT C3, C7, C8): search as you type, filters kept in
 * the address (so back, forward and reload keep them), the next page on
 * request so a base of any size is never loaded whole, a selection (or
 * everything the filter matches) for bulk actions and export. */
export function Contacts() {
  useSignal(path);
  const search = location.search;
  const filter = readFilter(search);
  const [q, setQ] = useState(filter.q ?? "");
  const [items, setItems] = useState<Client[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tags, setTags] = useState<string[]>([]);
  const [users, setUsers] = useState<User[]>([]);
  const [types, setTypes] = useState<string[]>([]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [all, setAll] = useState(false);
  const [exportError, setExportError] = useState<ApiError | null>(null);
  const asked = useRef(0);

  async function load(f: Filter, after: string | null) {
    const mine = ++asked.current;
    setLoading(true);
    try {
      // A selective filter over a large base answers short pages (each request
      // reads a bounded part of it): keep reading a few of them to fill a page.
      const got: Client[] = [];
      let next = after;
      let rounds = 0;
      do {
        const params = filterQuery(f);
        params.set("limit", String(PAGE - got.length));
        if (next) params.set("cursor", next);
        const page = await api<Page<Client>>("GET", `/api/clients?${params}`);
        if (mine !== asked.current) return; // a newer search answered first
        got.push(...page.items);
        next = page.cursor ?? null;
      } while (next && got.length < PAGE && ++rounds < MAX_ROUNDS);
      setItems((old) => (after ? [...old, ...got] : got));
      setCursor(next);
      setError(null);
    } catch (e) {
      if (mine === asked.current) {
        setError(asApiError(e));
        if (!after) setItems([]);
      }
    } finally {
      if (mine === asked.current) setLoading(false);
    }
  }

  const loadTags = () =>
    api<{ tags: string[] }>("GET", "/api/tags")
      .then((r) => setTags(r.tags))
      .catch(() => undefined);

  useEffect(() => {
    void loadTags();
    void companyUsers().then(setUsers);
    api<{ client_types: string[] }>("GET", "/api/company/card-settings")
      .then((s) => setTypes(s.client_types))
      .catch(() => undefined);
  }, []);

  // A new filter (typed, chosen, or from back/forward) is a new list and a new selection.
  useEffect(() => {
    setQ(filter.q ?? "");
    setSelected(new Set());
    setAll(false);
    void load(filter, null);
  }, [search]);

  // Typing waits for a pause, then becomes the address's `q` (one history entry).
  useEffect(() => {
    if ((filter.q ?? "") === q) return;
    const timer = setTimeout(() => writeFilter({ ...readFilter(), q }, true), 250);
    return () => clearTimeout(timer);
  }, [q]);

  const set = (k: FilterKey, v: string) => writeFilter({ ...filter, [k]: v });
  const fieldError = (name: string) =>
    error?.field === name ? (
      <small class="field-error" data-field={name}>
        {error.message}
      </small>
    ) : null;
  const active = Object.keys(filter).some((k) => k !== "q");

  function toggle(id: string) {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
    setAll(false);
  }
  const everyShown = items.length > 0 && items.every((c) => selected.has(c.id));
  function toggleShown() {
    setAll(false);
    setSelected(everyShown ? new Set() : new Set(items.map((c) => c.id)));
  }

  async function exportAs(format: "csv" | "xlsx") {
    const params = all || selected.size === 0 ? filterQuery(filter) : new URLSearchParams({ ids: [...selected].join(",") });
    params.set("format", format);
    params.set("lang", lang.get());
    try {
      await download(`/api/clients/export?${params}`, `contacts.${format}`);
      setExportError(null);
    } catch (e) {
      setExportError(asApiError(e));
    }
  }

  const dateInput = (k: FilterKey, label: string) => (
    <label class="field">
      <span>{label}</span>
      <input
        type="date"
        name={k}
        value={filter[k] ?? ""}
        aria-invalid={error?.field === k ? "true" : undefined}
        onChange={(e) => set(k, (e.target as HTMLInputElement).value)}
      />
      {fieldError(k)}
    </label>
  );

  return (
    <section class="card">
      <header class="calling-head">
        <h1>{t("contacts.title")}</h1>
        <div class="actions">
          <button onClick={() => navigate("/contacts/new")}>{t("contacts.new")}</button>
          <button class="secondary" onClick={() => navigate("/import")}>
            {t("import.open")}
          </button>
          <button class="secondary" onClick={() => navigate("/duplicates")}>
            {t("crm.dup.open")}
          </button>
          <button class="secondary" onClick={() => navigate("/recycle-bin")}>
            {t("crm.bin.open")}
          </button>
        </div>
      </header>
      <input
        class="search"
        type="search"
        name="q"
        placeholder={t("contacts.search")}
        aria-label={t("contacts.search")}
        value={q}
        onInput={(e) => setQ((e.target as HTMLInputElement).value)}
      />
      {fieldError("q")}
      <form class="filters" aria-label={t("crm.filter.title")} onSubmit={(e) => e.preventDefault()}>
        <label class="field">
          <span>{t("crm.filter.tag")}</span>
          <select name="tags" value={filter.tags ?? ""} onChange={(e) => set("tags", (e.target as HTMLSelectElement).value)}>
            <option value="">{t("crm.filter.any")}</option>
            {filter.tags && !tags.includes(filter.tags) && <option value={filter.tags}>{filter.tags}</option>}
            {tags.map((tag) => (
              <option key={tag} value={tag}>
                {tag}
              </option>
            ))}
          </select>
        </label>
        {users.length > 0 && (
          <label class="field">
            <span>{t("crm.filter.responsible")}</span>
            <select
              name="responsible"
              value={filter.responsible ?? ""}
              onChange={(e) => set("responsible", (e.target as HTMLSelectElement).value)}
            >
              <option value="">{t("crm.filter.anyone")}</option>
              {users.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.full_name}
                </option>
              ))}
            </select>
            {fieldError("responsible")}
          </label>
        )}
        <label class="field">
          <span>{t("crm.filter.kind")}</span>
          <select name="kind" value={filter.kind ?? ""} onChange={(e) => set("kind", (e.target as HTMLSelectElement).value)}>
            <option value="">{t("crm.filter.both")}</option>
            <option value="organization">{t("card.kind.organization")}</option>
            <option value="contact">{t("card.kind.contact")}</option>
          </select>
        </label>
        <label class="field">
          <span>{t("crm.filter.client_type")}</span>
          <input
            name="client_type"
            list="crm-client-types"
            value={filter.client_type ?? ""}
            onChange={(e) => set("client_type", (e.target as HTMLInputElement).value)}
          />
          <datalist id="crm-client-types">
            {types.map((x) => (
              <option key={x} value={x} />
            ))}
          </datalist>
        </label>
        {dateInput("modified_from", t("crm.filter.modified_from"))}
        {dateInput("modified_to", t("crm.filter.modified_to"))}
        <label class="field">
          <span>{t("crm.filter.local_time")}</span>
          <input
            name="local_time"
            placeholder="09:00-18:00"
            value={filter.local_time ?? ""}
            aria-invalid={error?.field === "local_time" ? "true" : undefined}
            onChange={(e) => set("local_time", (e.target as HTMLInputElement).value)}
          />
          {fieldError("local_time")}
        </label>
        <label class="choice">
          <input
            type="checkbox"
            name="not_called"
            checked={filter.not_called === "true"}
            onChange={(e) => set("not_called", (e.target as HTMLInputElement).checked ? "true" : "")}
          />
          {t("crm.filter.not_called")}
        </label>
        {active && (
          <button type="button" class="link" onClick={() => writeFilter(filter.q ? { q: filter.q } : {})}>
            {t("crm.filter.clear")}
          </button>
        )}
      </form>
      {error && !FIELDS.includes(error.field ?? "") && (
        <p class="form-error" role="alert">
          {error.message}
        </p>
      )}
      <div class="selection-bar">
        <span aria-live="polite">
          {all ? t("crm.sel.all") : selected.size > 0 ? t("crm.sel.count", { n: selected.size }) : t("crm.sel.none")}
        </span>
        {(selected.size > 0 || all) && (
          <>
            {!all && (
              <button type="button" class="link" onClick={() => setAll(true)}>
                {t("crm.sel.pick_all")}
              </button>
            )}
            <button type="button" class="link" onClick={() => (setSelected(new Set()), setAll(false))}>
              {t("crm.sel.clear")}
            </button>
          </>
        )}
        <span class="spacer" />
        <button type="button" class="secondary" onClick={() => exportAs("xlsx")}>
          {t("crm.export.xlsx")}
        </button>
        <button type="button" class="secondary" onClick={() => exportAs("csv")}>
          {t("crm.export.csv")}
        </button>
      </div>
      {exportError && (
        <p class="form-error" role="alert">
          {exportError.message}
        </p>
      )}
      {(selected.size > 0 || all) && (
        <BulkPanel
          ids={all ? null : [...selected]}
          filter={filter}
          tags={tags}
          users={users}
          onDone={() => {
            void loadTags();
            void load(filter, null);
          }}
        />
      )}
      <table class="contacts">
        <thead>
          <tr>
            <th class="pick">
              <input type="checkbox" aria-label={t("crm.sel.shown")} checked={all || everyShown} onChange={toggleShown} />
            </th>
            <th>{t("contacts.name")}</th>
            <th>{t("contacts.phones")}</th>
            <th>{t("contacts.email")}</th>
            <th>{t("contacts.city")}</th>
            <th>{t("contacts.tags")}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((c) => (
            <tr key={c.id} data-id={c.id}>
              <td class="pick">
                <input
                  type="checkbox"
                  name="pick"
                  aria-label={c.name}
                  checked={all || selected.has(c.id)}
                  disabled={all}
                  onChange={() => toggle(c.id)}
                />
              </td>
              <td>
                <a href={`/contacts/${c.id}`} onClick={(e) => (e.preventDefault(), navigate(`/contacts/${c.id}`))}>
                  {c.name}
                </a>
              </td>
              <td>{c.phones.map((p) => p.display).join(", ")}</td>
              <td>{c.emails[0] ?? ""}</td>
              <td>{c.city ?? ""}</td>
              <td>
                {c.tags.map((tag) => (
                  <span class="tag" key={tag}>
                    {tag}
                  </span>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && !error && items.length === 0 && <p class="muted">{cursor ? t("crm.list.none_yet") : t("contacts.empty")}</p>}
      <p class="muted" aria-live="polite">
        {loading ? t("loading") : t("contacts.count", { n: items.length })}
      </p>
      {cursor && !loading && <button onClick={() => load(filter, cursor)}>{t("contacts.more")}</button>}
    </section>
  );
}

/** Fields whose errors show next to them rather than above the list. */
const FIELDS = ["q", "responsible", "modified_from", "modified_to", "local_time"];
