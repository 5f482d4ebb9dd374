import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type Client, type Page } from "../api";
import { t } from "../i18n";
import { navigate } from "../router";
import { asApiError } from "../ui/errors";

type Deleted = Client & { deleted_at: number };

/** The recycle bin (PRODUCT C4): deleted cards the caller may see, kept 30
 * days, oldest deletion first, each with "Restore". */
export function Bin() {
  const [items, setItems] = useState<Deleted[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  const [restored, setRestored] = useState<Client[]>([]);
  const [rowError, setRowError] = useState<{ id: string; error: ApiError } | null>(null);

  async function load(after: string | null) {
    setLoading(true);
    const q = new URLSearchParams({ limit: "50" });
    if (after) q.set("cursor", after);
    try {
      const page = await api<Page<Deleted>>("GET", `/api/clients-bin?${q}`);
      setItems((old) => (after ? [...old, ...page.items] : page.items));
      setCursor(page.cursor ?? null);
      setError(null);
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setLoading(false);
    }
  }
  useEffect(() => void load(null), []);

  async function restore(c: Deleted) {
    try {
      const back = await api<Client>("POST", `/api/clients/${c.id}/restore`);
      setItems((old) => old.filter((x) => x.id !== c.id));
      setRestored((old) => [back, ...old]);
      setRowError(null);
    } catch (e) {
      const err = asApiError(e);
      if (err) setRowError({ id: c.id, error: err });
    }
  }

  const open = (id: string) => (e: Event) => (e.preventDefault(), navigate(`/contacts/${id}`));
  return (
    <section class="card">
      <header class="calling-head">
        <h1>{t("crm.bin.title")}</h1>
        <button class="link" onClick={() => navigate("/contacts")}>
          {t("nav.contacts")}
        </button>
      </header>
      <p class="muted">{t("crm.bin.hint")}</p>
      {error && (
        <p class="form-error" role="alert">
          {error.message}
        </p>
      )}
      {restored.length > 0 && (
        <ul class="restored" role="status">
          {restored.map((c) => (
            <li key={c.id}>
              {t("crm.bin.restored")}{" "}
              <a href={`/contacts/${c.id}`} onClick={open(c.id)}>
                {c.name}
              </a>
            </li>
          ))}
        </ul>
      )}
      <table class="contacts">
        <thead>
          <tr>
            <th>{t("contacts.name")}</th>
            <th>{t("contacts.phones")}</th>
            <th>{t("contacts.email")}</th>
            <th>{t("crm.bin.deleted_at")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items.map((c) => (
            <tr key={c.id} data-id={c.id}>
              <td>{c.name}</td>
              <td>{c.phones.map((p) => p.display).join(", ")}</td>
              <td>{c.emails[0] ?? ""}</td>
              <td>{new Date(c.deleted_at).toLocaleString()}</td>
              <td>
                <button class="secondary" onClick={() => restore(c)}>
                  {t("crm.bin.restore")}
                </button>
                {rowError?.id === c.id && <small class="field-error">{rowError.error.message}</small>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {!loading && items.length === 0 && <p class="muted">{t("crm.bin.empty")}</p>}
      {loading && <p class="muted">{t("loading")}</p>}
      {cursor && !loading && <button onClick={() => load(cursor)}>{t("contacts.more")}</button>}
    </section>
  );
}
