import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { t, type Key } from "../i18n";
import { asApiError } from "../ui/errors";
import { Field, FormError } from "../ui/Field";
import { allUsers, Check, FieldNote, me, SelectField, SettingsTabs, type TeamUser } from "./common";

interface Account {
  id: string;
  owner: string | null;
  name: string;
  from_address: string;
  from_name: string | null;
  host: string;
  port: number;
  security: "none" | "starttls" | "tls";
  auth: "none" | "plain" | "login";
  login: string | null;
  password_set: boolean;
  scenarios: string[];
  version: number;
}

/** What "test connection" answered for an account. */
type Tested = { ok: true } | { ok: false; stage: string; message: string };

/** The stages a test names (the API's `code`), said for people. */
const STAGES = ["smtp_connect", "smtp_starttls", "smtp_auth", "smtp_send"];

/** Mail accounts (PRODUCT D3): the company's, kept by administrators and used
 * by everyone, and each user's own. The password is write-only. */
export function MailAccounts() {
  const [self, setSelf] = useState<TeamUser | null>(null);
  const [accounts, setAccounts] = useState<Account[] | null>(null);
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState<ApiError | null>(null);
  const [editing, setEditing] = useState<Account | "new" | null>(null);
  const [tested, setTested] = useState<Record<string, Tested | "testing">>({});
  const [deleting, setDeleting] = useState<string | null>(null);

  async function reload() {
    try {
      const [who, list] = await Promise.all([me(), api<Account[]>("GET", "/api/mail-accounts")]);
      setSelf(who);
      setAccounts(list);
      // Administrators also see colleagues' own accounts: name their owners.
      if (who.role === "administrator" && list.some((a) => a.owner && a.owner !== who.id)) {
        setNames(new Map((await allUsers()).map((u) => [u.id, u.full_name])));
      }
    } catch (e) {
      setError(asApiError(e));
    }
  }
  useEffect(() => void reload(), []);

  const admin = self?.role === "administrator";
  const manages = (a: Account) => (a.owner ? a.owner === self?.id : admin);

  async function test(a: Account) {
    setTested((x) => ({ ...x, [a.id]: "testing" }));
    try {
      await api("POST", `/api/mail-accounts/${a.id}/test`);
      setTested((x) => ({ ...x, [a.id]: { ok: true } }));
    } catch (e) {
      const err = asApiError(e);
      setTested((x) => ({ ...x, [a.id]: { ok: false, stage: err?.code ?? "", message: err?.message ?? t("error.offline") } }));
    }
  }

  async function remove(a: Account) {
    if (deleting !== a.id) {
      setDeleting(a.id);
      return;
    }
    try {
      await api("DELETE", `/api/mail-accounts/${a.id}`);
      setAccounts((list) => list && list.filter((x) => x.id !== a.id));
      setError(null);
    } catch (e) {
      setError(asApiError(e));
    }
    setDeleting(null);
  }

  const sections: [Key, Account[]][] = accounts
    ? [
        ["adm.mail.company", accounts.filter((a) => !a.owner)],
        ["adm.mail.mine", accounts.filter((a) => a.owner === self?.id)],
        ["adm.mail.colleagues", accounts.filter((a) => a.owner && a.owner !== self?.id)],
      ]
    : [];

  return (
    <div class="adm">
      <SettingsTabs />
      <div class="adm-head">
        <h1>{t("adm.mail.title")}</h1>
        {self && editing === null && (
          <button type="button" onClick={() => setEditing("new")}>
            {t("adm.mail.add")}
          </button>
        )}
      </div>
      {self && !admin && <p class="adm-notice">{t("adm.mail.admins_only")}</p>}
      <FormError error={error} fields={[]} />
      {editing !== null && self && (
        <AccountForm
          key={editing === "new" ? "new" : editing.id}
          account={editing === "new" ? null : editing}
          admin={admin}
          onDone={(saved) => {
            if (saved) setAccounts((list) => (list?.some((x) => x.id === saved.id) ? list.map((x) => (x.id === saved.id ? saved : x)) : [...(list ?? []), saved]));
            if (saved) setTested(({ [saved.id]: _, ...rest }) => rest);
            setEditing(null);
          }}
        />
      )}
      {accounts && accounts.length === 0 && <p class="muted card">{t("adm.mail.none")}</p>}
      {sections
        .filter(([, list]) => list.length > 0)
        .map(([title, list]) => (
          <section class="card" key={title}>
            <h2>{t(title)}</h2>
            <ul class="adm-accounts">
              {list.map((a) => {
                const result = tested[a.id];
                return (
                  <li key={a.id} data-account={a.name}>
                    <div class="adm-account-main">
                      <strong>{a.name}</strong>
                      <span>
                        {a.from_name ? `${a.from_name} <${a.from_address}>` : a.from_address}
                      </span>
                      <span class="muted">
                        {a.host}:{a.port} · {t(`adm.mail.security.${a.security}` as Key)} ·{" "}
                        {a.auth === "none" ? t("adm.mail.auth.none") : `${a.login ?? ""} (${a.password_set ? t("adm.mail.password_set") : t("adm.mail.password_missing")})`}
                      </span>
                      {a.owner && a.owner !== self?.id && <span class="muted">{t("adm.mail.owner", { name: names.get(a.owner) ?? a.owner })}</span>}
                      {a.scenarios.length > 0 && <span class="muted">{t("adm.mail.used_by", { n: a.scenarios.length })}</span>}
                    </div>
                    {manages(a) && (
                      <div class="actions">
                        <button type="button" class="secondary" disabled={result === "testing"} onClick={() => test(a)}>
                          {result === "testing" ? t("adm.mail.testing") : t("adm.mail.test")}
                        </button>
                        <button type="button" class="link" onClick={() => setEditing(a)}>
                          {t("adm.edit")}
                        </button>
                        <button type="button" class="link danger-link" onClick={() => remove(a)}>
                          {deleting === a.id ? t("adm.mail.delete_sure") : t("adm.delete")}
                        </button>
                      </div>
                    )}
                    {result && result !== "testing" && <TestResult result={result} />}
                  </li>
                );
              })}
            </ul>
          </section>
        ))}
    </div>
  );
}

function TestResult({ result }: { result: Tested }) {
  if (result.ok)
    return (
      <p class="adm-test ok" data-test="ok" role="status">
        {t("adm.mail.test_ok")}
      </p>
    );
  const stage = STAGES.includes(result.stage) ? t(`adm.mail.stage.${result.stage}` as Key) : result.stage;
  return (
    <p class="adm-test failed" data-test="failed" data-stage={result.stage} role="alert">
      <strong>{t("adm.mail.test_failed", { stage })}</strong> {result.message}
    </p>
  );
}

function AccountForm({ account, admin, onDone }: { account: Account | null; admin: boolean; onDone: (a: Account | null) => void }) {
  const [name, setName] = useState(account?.name ?? "");
  // Whoever is not an administrator may add only their own.
  const [personal, setPersonal] = useState(account ? account.owner !== null : !admin);
  const [from, setFrom] = useState(account?.from_address ?? "");
  const [fromName, setFromName] = useState(account?.from_name ?? "");
  const [host, setHost] = useState(account?.host ?? "");
  const [port, setPort] = useState(account ? String(account.port) : "587");
  const [security, setSecurity] = useState<string>(account?.security ?? "starttls");
  const [auth, setAuth] = useState<string>(account?.auth ?? "login");
  const [login, setLogin] = useState(account?.login ?? "");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | null>(null);

  async function save(e: Event) {
    e.preventDefault();
    const p = port.trim();
    const body = {
      name,
      personal,
      from_address: from,
      from_name: fromName.trim() || null,
      host,
      // Not a number: sent as typed for the API to name the field.
      port: /^\d+$/.test(p) ? Number(p) : p,
      security,
      auth,
      login: auth === "none" ? null : login,
      password: auth === "none" || password === "" ? undefined : password,
      version: account?.version,
    };
    try {
      onDone(account ? await api<Account>("PUT", `/api/mail-accounts/${account.id}`, body) : await api<Account>("POST", "/api/mail-accounts", body));
    } catch (err) {
      setError(asApiError(err));
    }
  }

  const fields = ["name", "personal", "from_address", "from_name", "host", "port", "security", "auth", "login", "password"];
  const title = account ? t("adm.mail.edit_title", { name: account.name }) : t("adm.mail.new_title");
  return (
    <form class="card adm-form" noValidate onSubmit={save} aria-label={title}>
      <h2>{title}</h2>
      <FormError error={error} fields={fields} />
      <div class="adm-grid">
        <Field name="name" label={t("adm.mail.name")} value={name} onInput={setName} error={error} />
        <Field name="from_address" label={t("adm.mail.from_address")} type="email" value={from} onInput={setFrom} error={error} />
        <Field name="from_name" label={t("adm.mail.from_name")} value={fromName} onInput={setFromName} error={error} />
        <Field name="host" label={t("adm.mail.host")} value={host} onInput={setHost} error={error} />
        <Field name="port" label={t("adm.mail.port")} value={port} onInput={setPort} error={error} />
        <SelectField
          name="security"
          label={t("adm.mail.security")}
          value={security}
          options={(["none", "starttls", "tls"] as const).map((s) => [s, t(`adm.mail.security.${s}`)])}
          onChange={setSecurity}
          error={error}
        />
        <SelectField
          name="auth"
          label={t("adm.mail.auth")}
          value={auth}
          options={(["none", "plain", "login"] as const).map((s) => [s, t(`adm.mail.auth.${s}`)])}
          onChange={setAuth}
          error={error}
        />
        {auth !== "none" && <Field name="login" label={t("adm.mail.login")} value={login} onInput={setLogin} error={error} autocomplete="off" />}
        {auth !== "none" && (
          <label class="field">
            <span>{t("adm.mail.password")}</span>
            <input
              name="password"
              type="password"
              autocomplete="new-password"
              value={password}
              placeholder={account?.password_set ? t("adm.password_stored") : ""}
              aria-invalid={error?.field === "password" ? "true" : undefined}
              onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
            />
            <FieldNote error={error} name="password" />
          </label>
        )}
      </div>
      {admin && !account && (
        <div class="adm-checks">
          <Check name="personal" label={t("adm.mail.personal")} checked={personal} onChange={setPersonal} />
        </div>
      )}
      <FieldNote error={error} name="personal" />
      <div class="actions">
        <button type="submit">{t("adm.save")}</button>
        <button type="button" class="secondary" onClick={() => onDone(null)}>
          {t("adm.cancel")}
        </button>
      </div>
    </form>
  );
}
