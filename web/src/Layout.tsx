import type { ComponentChildren } from "preact";
import { logOut } from "./api";
import { lang, setLang, t, type Key } from "./i18n";
import { navigate, path } from "./router";
import { useSignal } from "./signal";
import { AgentState } from "./ui/AgentState";
import { offline } from "./ui/errors";

const NAV: [string, Key][] = [
  ["/contacts", "nav.contacts"],
  ["/calling", "nav.calling"],
  ["/team", "nav.team"],
  ["/scenarios", "nav.scenarios"],
  ["/reports", "nav.reports"],
  ["/settings/telephony", "adm.nav.settings"],
];

export function Layout({ children }: { children: ComponentChildren }) {
  const here = useSignal(path);
  const isOffline = useSignal(offline);
  return (
    <>
      <header class="top">
        <strong class="brand">{t("app.name")}</strong>
        <nav>
          {NAV.map(([to, key]) => (
            <a
              key={to}
              href={to}
              aria-current={here === to || (to.startsWith("/settings/") && here.startsWith("/settings/")) ? "page" : undefined}
              onClick={(e) => (e.preventDefault(), navigate(to))}
            >
              {t(key)}
            </a>
          ))}
        </nav>
        <AgentState />
        <button class="link" onClick={() => setLang(lang.get() === "ru" ? "en" : "ru")}>
          {t("lang.switch")}
        </button>
        <button class="link" onClick={() => logOut().then(() => navigate("/login"))}>
          {t("nav.logout")}
        </button>
      </header>
      {isOffline && (
        <div class="banner" role="alert">
          {t("error.offline")}
        </div>
      )}
      <main>{children}</main>
    </>
  );
}
