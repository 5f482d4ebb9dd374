import { useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { t } from "../i18n";
import { navigate } from "../router";
import { asApiError } from "../ui/errors";
import { Field, FormError } from "../ui/Field";

export function Signup() {
  const [company, setCompany] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [sentTo, setSentTo] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    try {
      const r = await api<{ confirmation_sent_to: string }>("POST", "/api/auth/signup", {
        company_name: company,
        email,
        password,
      });
      setSentTo(r.confirmation_sent_to);
    } catch (err) {
      setError(asApiError(err));
    }
  }

  if (sentTo) {
    return (
      <div class="card narrow">
        <h1>{t("signup.title")}</h1>
        <p role="status">{t("signup.sent", { email: sentTo })}</p>
      </div>
    );
  }
  return (
    <form class="card narrow" onSubmit={submit}>
      <h1>{t("signup.title")}</h1>
      <FormError error={error} fields={["company_name", "email", "password"]} />
      <Field name="company_name" label={t("signup.company")} value={company} onInput={setCompany} error={error} />
      <Field name="email" label={t("login.email")} type="email" autocomplete="username" value={email} onInput={setEmail} error={error} />
      <Field
        name="password"
        label={t("login.password")}
        type="password"
        autocomplete="new-password"
        value={password}
        onInput={setPassword}
        error={error}
      />
      <button type="submit">{t("signup.submit")}</button>
      <a href="/login" onClick={(e) => (e.preventDefault(), navigate("/login"))}>
        {t("signup.to_login")}
      </a>
    </form>
  );
}
