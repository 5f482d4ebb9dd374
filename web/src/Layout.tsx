import type { ComponentChildren } from "preact";
import { logOut } from "./api";
import { lang, setLang, t, type Key } from "./i18n";
import { navigate, path } from "./router";
import { useSignal } from "./signal";
import { useEffect } from "preact/hooks";
import { line, softphone } from "./phone";
import { AgentState } from "./ui/AgentState";
import { IncomingCall } from "./ui/IncomingCall";
import { offline } from "./ui/errors";
import { UserMenu } from "./ui/UserMenu";

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
  const phoneLine = useSignal(line);
  // The phone is on whenever the agent is in the app, so customers' calls ring
  // on every page (JsSIP loads after the page is up).
  useEffect(() => {
    softphone()
      .then((p) => p.connect())
      .catch((e) => line.set({ state: "failed", reason: String(e) }));
  }, []);
  return (
    <>
      <header class="top">
        <strong class="brand">{t("app.name")}</strong>
        <nav>
          {NAV.map(([to, key]) => (
            <a
              key={to}
              href={to}
              aria-current={
                here === to || here.startsWith(to + "/") || (to.startsWith("/settings/") && here.startsWith("/settings/"))
                  ? "page"
                  : undefined
              }
              onClick={(e) => (e.preventDefault(), navigate(to))}
            >
              {t(key)}
            </a>
          ))}
        </nav>
        <AgentState />
        <a
          class="check-link"
          href="/check"
          aria-current={here === "/check" ? "page" : undefined}
          onClick={(e) => (e.preventDefault(), navigate("/check"))}
        >
          {t("nav.check")}
        </a>
        <UserMenu />
        <button class="link" onClick={() => setLang(lang.get() === "ru" ? "en" : "ru")}>
          {t("lang.switch")}
        </button>
        <button class="link" onClick={() => logOut().then(() => navigate("/login"))}>
          {t("nav.logout")}
        </button>
      </header>
      <IncomingCall />
      {phoneLine.state === "connecting" && phoneLine.lost && (
        <div class="banner" role="alert" data-banner="phone">
          {t("phone.reconnecting")}
        </div>
      )}
      {isOffline && (
        <div class="banner" role="alert">
          {t("error.offline")}
        </div>
      )}
      <main>{children}</main>
    </>
  );
}
