import { useEffect, useState } from "preact/hooks";
import { api, ApiError, logOut } from "../api";
import { lang, setLang, t, type Lang } from "../i18n";
import { navigate } from "../router";
import { me, type Me } from "../ui/UserMenu";
import { asApiError } from "../ui/errors";
import { Field, FormError } from "../ui/Field";

const PROFILE_FIELDS = ["full_name", "support_email", "support_phone", "time_zone"];
const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
const ZONES = Intl.supportedValuesOf("timeZone");

interface Sip {
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

/** The user's own profile (PRODUCT A5): name and language, the password (the
 * current one is asked; every other session ends), and the SIP account for a
 * desk phone or softphone. An invited user, who logged in with the mailed
 * password, is sent here first to choose their own. */
export function Profile() {
  const [user, setUser] = useState<Me | null>(me.get());
  const [name, setName] = useState(user?.full_name ?? "");
  const [zone, setZone] = useState(user?.time_zone ?? "");
  const [supportEmail, setSupportEmail] = useState(user?.support_email ?? "");
  const [supportPhone, setSupportPhone] = useState(user?.support_phone ?? "");
  const [nameError, setNameError] = useState<ApiError | null>(null);
  const [nameSaved, setNameSaved] = useState(false);

  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [pwError, setPwError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const [sip, setSip] = useState<Sip | null>(null);
  const [sipPassword, setSipPassword] = useState<SipPassword | null>(null);
  const [sipError, setSipError] = useState<ApiError | null>(null);

  useEffect(() => {
    api<Me>("GET", "/api/me")
      .then((u) => (show(u), me.set(u)))
      .catch((e) => setNameError(asApiError(e)));
    api<Sip>("GET", "/api/me/sip")
      .then(setSip)
      .catch((e) => setSipError(asApiError(e)));
  }, []);

  function show(u: Me) {
    setUser(u);
    setName(u.full_name);
    setZone(u.time_zone ?? "");
    setSupportEmail(u.support_email ?? "");
    setSupportPhone(u.support_phone ?? "");
  }

  async function saveName(e: Event) {
    e.preventDefault();
    try {
      const u = await api<Me>("PATCH", "/api/me", {
        full_name: name,
        time_zone: zone || null,
        support_email: supportEmail.trim() || null,
        support_phone: supportPhone.trim() || null,
      });
      show(u);
      me.set(u);
      setNameError(null);
      setNameSaved(true);
    } catch (err) {
      setNameSaved(false);
      setNameError(asApiError(err));
    }
  }

  async function changePassword(e: Event) {
    e.preventDefault();
    setBusy(true);
    try {
      await api("POST", "/api/me/password", { current_password: current, new_password: next });
      // Every session of the user ends with the old password: log in again.
      await logOut();
      navigate("/login");
    } catch (err) {
      setPwError(asApiError(err));
    } finally {
      setBusy(false);
    }
  }

  async function resetSip() {
    try {
      const p = await api<SipPassword>("POST", "/api/me/sip-password");
      setSipPassword(p);
      setSip((s) => (s ? { ...s, configured: true } : s));
      setSipError(null);
    } catch (err) {
      setSipError(asApiError(err));
    }
  }

  return (
    <div class="profile-grid">
      {user?.must_change_password && (
        <p class="banner notice" role="alert">
          {t("crm.profile.must_change")}
        </p>
      )}
      <form class="card narrow" onSubmit={saveName} aria-label={t("crm.profile.title")}>
        <h1>{t("crm.profile.title")}</h1>
        {user && (
          <p class="muted">
            {user.email} · {t(`crm.role.${user.role}` as "crm.role.manager")}
            {user.short_number && ` · ${t("crm.profile.short_number", { n: user.short_number })}`}
          </p>
        )}
        <FormError error={nameError} fields={PROFILE_FIELDS} />
        <Field name="full_name" label={t("crm.profile.name")} value={name} onInput={(v) => (setName(v), setNameSaved(false))} error={nameError} />
        <Field
          name="support_email"
          type="email"
          label={t("crm.profile.support_email")}
          value={supportEmail}
          onInput={(v) => (setSupportEmail(v), setNameSaved(false))}
          error={nameError}
        />
        <Field
          name="support_phone"
          type="tel"
          label={t("crm.profile.support_phone")}
          value={supportPhone}
          onInput={(v) => (setSupportPhone(v), setNameSaved(false))}
          error={nameError}
        />
        <label class="field">
          <span>{t("crm.profile.time_zone")}</span>
          <select name="time_zone" value={zone} onChange={(e) => (setZone((e.target as HTMLSelectElement).value), setNameSaved(false))}>
            <option value="">{t("crm.profile.zone_auto", { zone: BROWSER_ZONE })}</option>
            {ZONES.map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
          {nameError?.field === "time_zone" && (
            <small class="field-error" data-field="time_zone">
              {nameError.message}
            </small>
          )}
        </label>
        <label class="field">
          <span>{t("crm.profile.language")}</span>
          <select name="language" value={lang.get()} onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}>
            <option value="ru">Русский</option>
            <option value="en">English</option>
          </select>
        </label>
        <div class="actions">
          <button type="submit">{t("card.save")}</button>
        </div>
        {nameSaved && (
          <p class="muted" role="status">
            {t("crm.profile.saved")}
          </p>
        )}
      </form>

      <form class="card narrow" onSubmit={changePassword} aria-label={t("crm.profile.password")}>
        <h2>{t("crm.profile.password")}</h2>
        <FormError error={pwError} fields={["current_password", "new_password"]} />
        <Field
          name="current_password"
          type="password"
          autocomplete="current-password"
          label={t("crm.profile.current_password")}
          value={current}
          onInput={setCurrent}
          error={pwError}
        />
        <Field
          name="new_password"
          type="password"
          autocomplete="new-password"
          label={t("crm.profile.new_password")}
          value={next}
          onInput={setNext}
          error={pwError}
        />
        <p class="muted">{t("crm.profile.password_hint")}</p>
        <div class="actions">
          <button type="submit" disabled={busy}>
            {t("crm.profile.change_password")}
          </button>
        </div>
      </form>

      <section class="card narrow" aria-label={t("crm.profile.sip")}>
        <h2>{t("crm.profile.sip")}</h2>
        {sipError && (
          <p class="form-error" role="alert">
            {sipError.message}
          </p>
        )}
        {sip && (
          <dl class="facts">
            <dt>{t("crm.profile.sip_user")}</dt>
            <dd>
              <code>{sip.username}</code>
            </dd>
            <dt>{t("crm.profile.sip_realm")}</dt>
            <dd>
              <code>{sip.realm}</code>
            </dd>
            {sip.websocket && (
              <>
                <dt>{t("crm.profile.sip_ws")}</dt>
                <dd>
                  <code>{sip.websocket}</code>
                </dd>
              </>
            )}
            <dt>{t("crm.profile.sip_password")}</dt>
            <dd>{sip.configured ? t("crm.profile.sip_set") : t("crm.profile.sip_unset")}</dd>
          </dl>
        )}
        {sipPassword && (
          <p class="secret" role="status">
            {t("crm.profile.sip_new")} <code data-secret>{sipPassword.password}</code>
          </p>
        )}
        <div class="actions">
          <button type="button" class="secondary" onClick={resetSip}>
            {t("crm.profile.sip_reset")}
          </button>
        </div>
        <p class="muted">{t("crm.profile.sip_hint")}</p>
      </section>
    </div>
  );
}
