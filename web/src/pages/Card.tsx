import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type Client, type Page } from "../api";
import { t, type Key } from "../i18n";
import { navigate } from "../router";
import { asApiError } from "../ui/errors";
import { Field, FormError } from "../ui/Field";

interface Full extends Client {
  first_name: string | null;
  last_name: string | null;
  patronymic: string | null;
  description: string | null;
}
interface Entry {
  id: string;
  kind: string;
  at: number;
  text: string;
  details: Record<string, string>;
}

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

/** A client card (PRODUCT C1, C3, C5): the fields to edit and the history.
 * `id` "new" makes a new contact; a phone or e-mail another card has is
 * warned about first, and saved on a second press. */
export function Card({ id }: { id: string }) {
  const fresh = id === "new";
  const [kind, setKind] = useState<"contact" | "organization">("contact");
  const [name, setName] = useState("");
  const [last, setLast] = useState("");
  const [first, setFirst] = useState("");
  const [patronymic, setPatronymic] = useState("");
  // A new card may come with the number of the call that opened it.
  const [phones, setPhones] = useState(fresh ? (new URLSearchParams(location.search).get("phone") ?? "") : "");
  const [emails, setEmails] = useState("");
  const [city, setCity] = useState("");
  const [tags, setTags] = useState("");
  const [history, setHistory] = useState<Entry[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const [anyway, setAnyway] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);

  function fill(c: Full) {
    setKind(c.kind);
    setName(c.name);
    setLast(c.last_name ?? "");
    setFirst(c.first_name ?? "");
    setPatronymic(c.patronymic ?? "");
    setPhones(c.phones.map((p) => p.display).join(", "));
    setEmails(c.emails.join(", "));
    setCity(c.city ?? "");
    setTags(c.tags.join(", "));
  }

  async function load() {
    if (fresh) return;
    try {
      fill(await api<Full>("GET", `/api/clients/${id}`));
      setHistory((await api<Page<Entry>>("GET", `/api/clients/${id}/history`)).items);
    } catch (e) {
      setError(asApiError(e));
    }
  }
  useEffect(() => void load(), [id]);

  async function save(e: Event) {
    e.preventDefault();
    const person = kind === "contact";
    const fields = {
      ...(person ? { last_name: last || null, first_name: first || null, patronymic: patronymic || null } : { name }),
      phones: list(phones),
      emails: list(emails),
      city: city || null,
      tags: list(tags),
      allow_duplicates: anyway || undefined,
    };
    try {
      if (fresh) {
        const c = await api<Full>("POST", "/api/clients", { kind, ...fields });
        navigate(`/contacts/${c.id}`);
      } else {
        fill(await api<Full>("PATCH", `/api/clients/${id}`, fields));
        setHistory((await api<Page<Entry>>("GET", `/api/clients/${id}/history`)).items);
      }
      setSaved(true);
      setError(null);
      setAnyway(false);
    } catch (err) {
      const a = asApiError(err);
      setSaved(false);
      setError(a);
      // The warning is said once; pressing Save again means "save anyway".
      setAnyway(a?.code === "duplicate");
    }
  }

  /** To the recycle bin, on a second press; back to the list after. */
  async function remove() {
    if (!confirmDelete) {
      setConfirmDelete(true);
      return;
    }
    try {
      await api("DELETE", `/api/clients/${id}`);
      navigate("/contacts");
    } catch (err) {
      setConfirmDelete(false);
      setError(asApiError(err));
    }
  }

  const fieldNames = ["name", "last_name", "first_name", "patronymic", "phones", "emails", "city", "tags"];
  return (
    <div class="card-grid">
      <form class="card" onSubmit={save}>
        <h1>{fresh ? t("card.new") : name}</h1>
        {fresh && (
          <label class="field">
            <span>{t("card.kind")}</span>
            <select name="kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as typeof kind)}>
              <option value="contact">{t("card.kind.contact")}</option>
              <option value="organization">{t("card.kind.organization")}</option>
            </select>
          </label>
        )}
        <FormError error={error} fields={fieldNames} />
        {kind === "organization" ? (
          <Field name="name" label={t("card.name")} value={name} onInput={setName} error={error} />
        ) : (
          <>
            <Field name="last_name" label={t("import.target.last_name")} value={last} onInput={setLast} error={error} />
            <Field name="first_name" label={t("import.target.first_name")} value={first} onInput={setFirst} error={error} />
            <Field name="patronymic" label={t("import.target.patronymic")} value={patronymic} onInput={setPatronymic} error={error} />
          </>
        )}
        <Field name="phones" label={t("card.phones")} value={phones} onInput={setPhones} error={error} />
        <Field name="emails" label={t("card.emails")} value={emails} onInput={setEmails} error={error} />
        <Field name="city" label={t("contacts.city")} value={city} onInput={setCity} error={error} />
        <Field name="tags" label={t("card.tags")} value={tags} onInput={setTags} error={error} />
        <div class="actions">
          <button type="submit">{anyway ? t("card.save_anyway") : t("card.save")}</button>
          <button type="button" class="link" onClick={() => navigate("/contacts")}>
            {t("nav.contacts")}
          </button>
          {!fresh && (
            <button type="button" class="danger card-delete" onClick={remove}>
              {confirmDelete ? t("crm.card.confirm_delete") : t("crm.card.delete")}
            </button>
          )}
          {confirmDelete && (
            <button type="button" class="link" onClick={() => setConfirmDelete(false)}>
              {t("crm.cancel")}
            </button>
          )}
        </div>
        {confirmDelete && <p class="muted">{t("crm.card.delete_hint")}</p>}
        {saved && (
          <p class="muted" role="status">
            {t("calling.saved")}
          </p>
        )}
      </form>
      {!fresh && (
        <section class="card history">
          <h2>{t("card.history")}</h2>
          <ul>
            {history.map((h) => (
              <li key={h.id} data-kind={h.kind}>
                <time>{new Date(h.at).toLocaleString()}</time> <strong>{t(`history.${h.kind}` as Key) ?? h.kind}</strong>
                {h.details.result && <span> · {h.details.result}</span>}
                {h.text && <div>{h.text}</div>}
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
