import { useEffect, useState } from "preact/hooks";
import { api } from "../api";
import { t } from "../i18n";
import { navigate } from "../router";
import { asApiError } from "../ui/errors";

/** The page the mailed confirmation link opens: `/confirm?token=…`. */
export function Confirm() {
  const [message, setMessage] = useState<string>(t("loading"));
  const [done, setDone] = useState(false);

  useEffect(() => {
    const token = new URLSearchParams(location.search).get("token");
    if (!token) {
      setMessage(t("confirm.no_token"));
      return;
    }
    api("POST", "/api/auth/confirm", { token })
      .then(() => {
        setDone(true);
        setMessage(t("confirm.done"));
      })
      .catch((e) => setMessage(asApiError(e)?.message ?? t("error.offline")));
  }, []);

  return (
    <div class="card narrow">
      <h1>{t("confirm.title")}</h1>
      <p role="status">{message}</p>
      {done && <button onClick={() => navigate("/login")}>{t("login.submit")}</button>}
    </div>
  );
}
