// The administration screens are loaded on first visit, so the first page of
// the app stays small.

import { useEffect, useState } from "preact/hooks";
import { t } from "../i18n";

type Pages = typeof import("./pages");
export type AdminScreen = "team" | "telephony" | "mail";

let loading: Promise<Pages> | null = null;
const load = () => (loading ??= import("./pages"));

export function AdminPage({ screen }: { screen: AdminScreen }) {
  const [pages, setPages] = useState<{ m: Pages } | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    load().then(
      (m) => setPages({ m }),
      () => {
        loading = null;
        setFailed(true);
      },
    );
  }, []);
  if (failed)
    return (
      <p class="form-error" role="alert">
        {t("error.offline")}
      </p>
    );
  if (!pages) return <p class="muted">{t("loading")}</p>;
  const { Team, Telephony, MailAccounts } = pages.m;
  return screen === "team" ? <Team /> : screen === "telephony" ? <Telephony /> : <MailAccounts />;
}
