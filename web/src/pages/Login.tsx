import { useState } from "preact/hooks";
import { ApiError, logIn } from "../api";
import { t } from "../i18n";
import { navigate } from "../router";
import { asApiError } from "../ui/errors";
import { Field, FormError } from "../ui/Field";

export function Login() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    try {
      await logIn(email, password);
      navigate("/contacts");
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card narrow" onSubmit={submit}>
      <h1>{t("login.title")}</h1>
      <FormError error={error} fields={["email", "password"]} />
      <Field name="email" label={t("login.email")} type="email" autocomplete="username" value={email} onInput={setEmail} error={error} />
      <Field
        name="password"
        label={t("login.password")}
        type="password"
        autocomplete="current-password"
        value={password}
        onInput={setPassword}
        error={error}
      />
      <button type="submit" disabled={busy}>
        {t("login.submit")}
      </button>
      <a href="/signup" onClick={(e) => (e.preventDefault(), navigate("/signup"))}>
        {t("login.to_signup")}
      </a>
    </form>
  );
}
