import { render, type JSX } from "preact";
import { useEffect } from "preact/hooks";
import { AdminPage } from "./admin/lazy";
import { onSessionChange, signedIn } from "./api";
import { lang, t } from "./i18n";
import { Layout } from "./Layout";
import { Calling } from "./pages/Calling";
import { Card } from "./pages/Card";
import { Confirm } from "./pages/Confirm";
import { Contacts } from "./pages/Contacts";
import { Import } from "./pages/Import";
import { Login } from "./pages/Login";
import { Pending } from "./pages/Pending";
import { isScenarioPath, Scenarios } from "./pages/Scenarios";
import { Signup } from "./pages/Signup";
import { navigate, path } from "./router";
import { signal, useSignal } from "./signal";
import "./style.css";
import { lazyPage } from "./ui/Lazy";

const Duplicates = lazyPage(() => import("./pages/Duplicates").then((m) => m.Duplicates));
const Bin = lazyPage(() => import("./pages/Bin").then((m) => m.Bin));
const Profile = lazyPage(() => import("./pages/Profile").then((m) => m.Profile));
const Check = lazyPage(() => import("./pages/Check").then((m) => m.Check));

const session = signal(signedIn());
onSessionChange(() => session.set(signedIn()));

const PUBLIC: Record<string, () => JSX.Element> = {
  "/login": () => <Login />,
  "/signup": () => <Signup />,
  "/confirm": () => <Confirm />,
};

const INSIDE: Record<string, () => JSX.Element> = {
  "/contacts": () => <Contacts />,
  "/import": () => <Import />,
  "/calling": () => <Calling />,
  "/duplicates": () => <Duplicates />,
  "/recycle-bin": () => <Bin />,
  "/profile": () => <Profile />,
  "/team": () => <AdminPage screen="team" />,
  "/settings/telephony": () => <AdminPage screen="telephony" />,
  "/settings/mail": () => <AdminPage screen="mail" />,
  "/reports": () => <Pending title={t("nav.reports")} />,
  "/check": () => <Check />,
};

/** Where the app goes instead of `here`, if it may not stay. */
/** A card's page: `/contacts/<id>` (or `/contacts/new`). */
const cardId = (here: string) => /^\/contacts\/([A-Za-z0-9_-]+)$/.exec(here)?.[1];

function redirect(here: string, inside: boolean): string | null {
  if (here === "/confirm") return null; // a mailed link works either way
  if (!inside) return PUBLIC[here] ? null : "/login";
  return INSIDE[here] || cardId(here) || isScenarioPath(here) ? null : "/contacts";
}

function App() {
  const here = useSignal(path);
  const inside = useSignal(session);
  useSignal(lang);

  const to = redirect(here, inside);
  useEffect(() => {
    if (to) navigate(to);
  }, [to]);
  if (to) return null;

  const page = PUBLIC[here];
  if (page) return <main class="public">{page()}</main>;
  const id = cardId(here);
  return <Layout>{id ? <Card id={id} /> : isScenarioPath(here) ? <Scenarios here={here} /> : INSIDE[here]()}</Layout>;
}

document.documentElement.lang = lang.get();
render(<App />, document.getElementById("app")!);
