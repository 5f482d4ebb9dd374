import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { t, type Key } from "../i18n";
import { asApiError } from "../ui/errors";
import { Field, FormError } from "../ui/Field";
import { AdminsOnly, allUsers, Check, FieldNote, me, SelectField, SettingsTabs, type TeamUser } from "./common";

interface TrunkView {
  enabled: boolean;
  name: string;
  number: string;
  host: string;
  port: number;
  transport: "udp" | "tcp" | "tls";
  login: string;
  domain: string;
  register: boolean;
  qualify: boolean;
  password_set: boolean;
}
/** Whether the trunk answers the node's OPTIONS (a checked trunk only). */
interface TrunkReach {
  state: "reachable" | "unreachable";
  rtt_ms?: number;
  at: number;
}
interface TrunkStatus {
  state: "disabled" | "not_registering" | "registering" | "registered" | "failed";
  until?: number;
  code?: number;
  reason?: string;
}
interface TrunkSettings {
  configured: boolean;
  trunk: TrunkView | null;
  status: TrunkStatus | null;
  reach: TrunkReach | null;
  version: number;
}
interface SipAccount {
  username: string;
  realm: string;
  configured: boolean;
  websocket: string | null;
}
interface SipPassword {
  username: string;
  password: string;
  realm: string;
}

/** How often the trunk's registration status is read again while the page is open. */
const STATUS_EVERY_MS = 5000;

/** Telephony (PRODUCT B2): the company's SIP trunk with its registration
 * status, the users' short numbers and SIP passwords, and one's own phone. */
export function Telephony() {
  const [self, setSelf] = useState<TeamUser | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    me().then(setSelf, (e) => setError(asApiError(e)));
  }, []);
  const admin = self?.role === "administrator";
  return (
    <div class="adm">
      <SettingsTabs />
      <h1>{t("adm.tel.title")}</h1>
      <FormError error={error} fields={[]} />
      {self && !admin && <AdminsOnly>{t("adm.tel.admins_only")}</AdminsOnly>}
      {admin && <Trunk />}
      {admin && <ShortNumbers />}
      {self && <MyPhone />}
    </div>
  );
}

function Trunk() {
  const [settings, setSettings] = useState<TrunkSettings | null>(null);
  const [enabled, setEnabled] = useState(true);
  const [name, setName] = useState("");
  const [number, setNumber] = useState("");
  const [host, setHost] = useState("");
  const [port, setPort] = useState("");
  const [transport, setTransport] = useState("udp");
  const [login, setLogin] = useState("");
  const [domain, setDomain] = useState("");
  const [register, setRegister] = useState(true);
  const [qualify, setQualify] = useState(false);
  const [password, setPassword] = useState("");
  const [clearPassword, setClearPassword] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const version = useRef(0);

  function fill(s: TrunkSettings) {
    setSettings(s);
    version.current = s.version;
    const tr = s.trunk;
    if (!tr) return;
    setEnabled(tr.enabled);
    setName(tr.name);
    setNumber(tr.number);
    setHost(tr.host);
    setPort(String(tr.port));
    setTransport(tr.transport);
    setLogin(tr.login);
    setDomain(tr.domain);
    setRegister(tr.register);
    setQualify(tr.qualify);
    setPassword("");
    setClearPassword(false);
  }

  useEffect(() => {
    api<TrunkSettings>("GET", "/api/company/trunk").then(fill, (e) => setError(asApiError(e)));
    // The status follows the media node's reports; the form is left as typed.
    const timer = setInterval(() => {
      api<TrunkSettings>("GET", "/api/company/trunk").then(
        (s) => setSettings((old) => (old ? { ...old, status: s.status, reach: s.reach } : old)),
        () => undefined,
      );
    }, STATUS_EVERY_MS);
    return () => clearInterval(timer);
  }, []);

  async function save(e: Event) {
    e.preventDefault();
    const body = {
      enabled,
      name,
      number,
      host,
      // A port that is not a number goes as typed, for the API to name it.
      port: port.trim() === "" ? undefined : /^\d+$/.test(port.trim()) ? Number(port.trim()) : port,
      transport,
      login,
      domain,
      register,
      qualify,
      // Write-only: left out keeps the stored one, "" removes it.
      password: password !== "" ? password : clearPassword ? "" : undefined,
      version: version.current,
    };
    try {
      fill(await api<TrunkSettings>("PUT", "/api/company/trunk", body));
      setSaved(true);
      setError(null);
    } catch (err) {
      setError(asApiError(err));
      setSaved(false);
    }
  }

  const fields = ["name", "number", "host", "port", "transport", "login", "domain", "password"];
  const stored = settings?.trunk?.password_set ?? false;
  return (
    <section class="card" aria-label={t("adm.tel.trunk")}>
      <div class="adm-head">
        <h2>{t("adm.tel.trunk")}</h2>
        {settings && <TrunkStatusBadge status={settings.configured ? settings.status : null} />}
        {settings?.reach && <TrunkReachBadge reach={settings.reach} />}
      </div>
      {settings && !settings.configured && <p class="muted">{t("adm.tel.no_trunk")}</p>}
      <form class="adm-form" onSubmit={save}>
        <FormError error={error} fields={fields} />
        <div class="adm-grid">
          <Field name="name" label={t("adm.tel.name")} value={name} onInput={setName} error={error} />
          <Field name="number" label={t("adm.tel.number")} value={number} onInput={setNumber} error={error} />
          <Field name="host" label={t("adm.tel.host")} value={host} onInput={setHost} error={error} />
          <Field name="port" label={t("adm.tel.port")} value={port} onInput={setPort} error={error} />
          <SelectField
            name="transport"
            label={t("adm.tel.transport")}
            value={transport}
            options={[
              ["udp", "UDP"],
              ["tcp", "TCP"],
              ["tls", "TLS"],
            ]}
            onChange={setTransport}
            error={error}
          />
          <Field name="login" label={t("adm.tel.login")} value={login} onInput={setLogin} error={error} autocomplete="off" />
          <label class="field">
            <span>{t("adm.tel.password")}</span>
            <input
              name="password"
              type="password"
              autocomplete="new-password"
              value={password}
              placeholder={stored ? t("adm.password_stored") : ""}
              aria-invalid={error?.field === "password" ? "true" : undefined}
              onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
            />
            <FieldNote error={error} name="password" />
          </label>
          <Field name="domain" label={t("adm.tel.domain")} value={domain} onInput={setDomain} error={error} />
        </div>
        <div class="adm-checks">
          <Check name="enabled" label={t("adm.tel.enabled")} checked={enabled} onChange={setEnabled} />
          <Check name="register" label={t("adm.tel.register")} checked={register} onChange={setRegister} />
          <Check name="qualify" label={t("adm.tel.qualify")} checked={qualify} onChange={setQualify} />
          {stored && <Check name="clear_password" label={t("adm.tel.clear_password")} checked={clearPassword} onChange={setClearPassword} />}
        </div>
        <div class="actions">
          <button type="submit">{t("adm.save")}</button>
        </div>
        {saved && (
          <p class="muted" role="status">
            {t("adm.saved")}
          </p>
        )}
      </form>
    </section>
  );
}

function TrunkStatusBadge({ status }: { status: TrunkStatus | null }) {
  if (!status)
    return (
      <span class="adm-badge" data-trunk-state="none">
        {t("adm.tel.state.none")}
      </span>
    );
  let text = t(`adm.tel.state.${status.state}` as Key);
  if (status.state === "registered" && status.until) text = t("adm.tel.state.registered_until", { time: new Date(status.until).toLocaleTimeString() });
  if (status.state === "failed") text += `: ${[status.code, status.reason].filter((x) => x !== undefined && x !== "").join(" ")}`;
  return (
    <span class={`adm-badge trunk-${status.state}`} data-trunk-state={status.state} role="status">
      {text}
    </span>
  );
}

function TrunkReachBadge({ reach }: { reach: TrunkReach }) {
  const text =
    reach.state === "reachable"
      ? t("adm.tel.reachable", { ms: reach.rtt_ms ?? 0 })
      : t("adm.tel.unreachable", { time: new Date(reach.at).toLocaleTimeString() });
  return (
    <span class={`adm-badge trunk-${reach.state === "reachable" ? "registered" : "failed"}`} data-trunk-reach={reach.state} role="status">
      {text}
    </span>
  );
}

/** Short numbers (agent → agent dialling) and SIP passwords of desk phones. */
function ShortNumbers() {
  const [users, setUsers] = useState<TeamUser[]>([]);
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, ApiError | null>>({});
  const [issued, setIssued] = useState<{ id: string; sip: SipPassword } | null>(null);

  useEffect(() => {
    allUsers().then(
      (list) => setUsers(list.filter((u) => u.status !== "deleted")),
      (e) => setErrors({ "": asApiError(e) }),
    );
  }, []);

  async function saveNumber(u: TeamUser) {
    const n = (drafts[u.id] ?? u.short_number ?? "").trim();
    try {
      const changed = await api<TeamUser>("PATCH", `/api/users/${u.id}`, { short_number: n || null });
      setUsers((list) => list.map((x) => (x.id === changed.id ? changed : x)));
      setDrafts((d) => {
        const { [u.id]: _, ...rest } = d;
        return rest;
      });
      setErrors((es) => ({ ...es, [u.id]: null }));
    } catch (e) {
      setErrors((es) => ({ ...es, [u.id]: asApiError(e) }));
    }
  }

  async function newPassword(u: TeamUser) {
    try {
      setIssued({ id: u.id, sip: await api<SipPassword>("POST", `/api/users/${u.id}/sip-password`) });
      setErrors((es) => ({ ...es, [u.id]: null }));
    } catch (e) {
      setErrors((es) => ({ ...es, [u.id]: asApiError(e) }));
    }
  }

  return (
    <section class="card">
      <h2>{t("adm.tel.short_numbers")}</h2>
      <p class="muted">{t("adm.tel.short_numbers_about")}</p>
      <FormError error={errors[""] ?? null} fields={[]} />
      <table class="adm-table short-numbers">
        <thead>
          <tr>
            <th>{t("adm.team.name")}</th>
            <th>{t("adm.team.short_number")}</th>
            <th>{t("adm.tel.sip_account")}</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => {
            const draft = drafts[u.id] ?? u.short_number ?? "";
            const changed = draft.trim() !== (u.short_number ?? "");
            return (
              <tr key={u.id} data-email={u.email}>
                <td>{u.full_name}</td>
                <td>
                  <form class="adm-inline" onSubmit={(e) => (e.preventDefault(), saveNumber(u))}>
                    <input
                      name="short_number"
                      size={7}
                      aria-label={t("adm.tel.short_number_of", { name: u.full_name })}
                      value={draft}
                      aria-invalid={errors[u.id]?.field === "short_number" ? "true" : undefined}
                      onInput={(e) => setDrafts((d) => ({ ...d, [u.id]: (e.target as HTMLInputElement).value }))}
                    />
                    {changed && <button type="submit">{t("adm.save")}</button>}
                  </form>
                  {errors[u.id] && (
                    <small class="field-error" data-field={errors[u.id]!.field ?? ""}>
                      {errors[u.id]!.message}
                    </small>
                  )}
                </td>
                <td>
                  {issued?.id === u.id ? (
                    <SipShown sip={issued.sip} />
                  ) : (
                    <button type="button" class="link" onClick={() => newPassword(u)}>
                      {t("adm.tel.new_sip_password")}
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function SipShown({ sip }: { sip: SipPassword }) {
  return (
    <div class="adm-secret" role="status">
      <div>
        {t("adm.tel.sip_user")}: <code>{sip.username}</code>
      </div>
      <div>
        {t("adm.tel.sip_password")}: <code data-sip-password>{sip.password}</code>
      </div>
      <div>
        {t("adm.tel.realm")}: <code>{sip.realm}</code>
      </div>
      <small class="muted">{t("adm.tel.shown_once")}</small>
    </div>
  );
}

/** One's own SIP account, for a desk phone or a softphone app. */
function MyPhone() {
  const [account, setAccount] = useState<SipAccount | null>(null);
  const [issued, setIssued] = useState<SipPassword | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const load = () => api<SipAccount>("GET", "/api/me/sip").then(setAccount, (e) => setError(asApiError(e)));
  useEffect(() => void load(), []);

  async function generate() {
    try {
      setIssued(await api<SipPassword>("POST", "/api/me/sip-password"));
      setError(null);
      void load();
    } catch (e) {
      setError(asApiError(e));
    }
  }

  return (
    <section class="card" aria-label={t("adm.tel.my_phone")}>
      <h2>{t("adm.tel.my_phone")}</h2>
      <FormError error={error} fields={[]} />
      {account && (
        <dl class="adm-facts">
          <dt>{t("adm.tel.sip_user")}</dt>
          <dd>
            <code>{account.username}</code>
          </dd>
          <dt>{t("adm.tel.realm")}</dt>
          <dd>
            <code>{account.realm}</code>
          </dd>
          <dt>{t("adm.tel.websocket")}</dt>
          <dd>{account.websocket ? <code>{account.websocket}</code> : t("adm.tel.no_websocket")}</dd>
          <dt>{t("adm.tel.sip_password")}</dt>
          <dd data-sip-configured={String(account.configured)}>{account.configured ? t("adm.tel.sip_set") : t("adm.tel.sip_not_set")}</dd>
        </dl>
      )}
      {issued && <SipShown sip={issued} />}
      <p class="muted">{t("adm.tel.new_password_about")}</p>
      <div class="actions">
        <button type="button" class="secondary" onClick={generate}>
          {t("adm.tel.new_sip_password")}
        </button>
      </div>
    </section>
  );
}
