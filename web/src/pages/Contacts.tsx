import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, type Client, type Page } from "../api";
import { t } from "../i18n";
import { navigate } from "../router";
import { asApiError } from "../ui/errors";

const PAGE = 50;

/** The contact list: search as you type, and the next page on request, so a
 * base of any size is never loaded whole. */
export function Contacts() {
  const [q, setQ] = useState("");
  const [items, setItems] = useState<Client[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const asked = useRef(0);

  async function load(query: string, after: string | null) {
    const mine = ++asked.current;
    setLoading(true);
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (query.trim()) params.set("q", query.trim());
    if (after) params.set("cursor", after);
    try {
      const page = await api<Page<Client>>("GET", `/api/clients?${params}`);
      if (mine !== asked.current) return; // a newer search answered first
      setItems((old) => (after ? [...old, ...page.items] : page.items));
      setCursor(page.cursor);
      setError(null);
    } catch (e) {
      if (mine === asked.current) setError(asApiError(e));
    } finally {
      if (mine === asked.current) setLoading(false);
    }
  }

  useEffect(() => {
    const timer = setTimeout(() => load(q, null), q ? 250 : 0);
    return () => clearTimeout(timer);
  }, [q]);

  return (
    <section class="card">
      <header class="calling-head">
        <h1>{t("contacts.title")}</h1>
        <div class="actions">
          <button onClick={() => navigate("/contacts/new")}>{t("contacts.new")}</button>
          <button class="secondary" onClick={() => navigate("/import")}>
            {t("import.open")}
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
      {error && (
        <p class="form-error" role="alert">
          {error.message}
        </p>
      )}
      <table class="contacts">
        <thead>
          <tr>
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
      {!loading && items.length === 0 && <p class="muted">{t("contacts.empty")}</p>}
      <p class="muted" aria-live="polite">
        {loading ? t("loading") : t("contacts.count", { n: items.length })}
      </p>
      {cursor && !loading && <button onClick={() => load(q, cursor)}>{t("contacts.more")}</button>}
    </section>
  );
}
