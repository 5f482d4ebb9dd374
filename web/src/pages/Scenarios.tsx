import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { t, type Key } from "../i18n";
import { navigate } from "../router";

type Screen = (props: { here: string }) => JSX.Element;
let loaded: Screen | null = null;

const TABS: [string, Key][] = [
  ["/scenarios", "sc.tab.scenarios"],
  ["/scenarios/results", "sc.tab.results"],
  ["/scenarios/questionnaires", "sc.tab.questionnaires"],
  ["/scenarios/templates", "sc.tab.templates"],
  ["/scenarios/work-lists", "sc.tab.work_lists"],
];

/** The tab a path belongs to: an editor's path is under its list's tab. */
function tabOf(here: string): string {
  const found = TABS.slice(1).find(([to]) => here === to || here.startsWith(to + "/"));
  return found ? found[0] : "/scenarios";
}

function Tabs({ here }: { here: string }) {
  const current = tabOf(here);
  return (
    <nav class="tabs" aria-label={t("nav.scenarios")}>
      {TABS.map(([to, key]) => (
        <a
          key={to}
          href={to}
          aria-current={current === to ? "page" : undefined}
          onClick={(e) => (e.preventDefault(), navigate(to))}
        >
          {t(key)}
        </a>
      ))}
    </nav>
  );
}

/** The paths of the scenario administration: the tabs and their editors. */
export const isScenarioPath = (here: string) =>
  /^\/scenarios(\/(results|questionnaires|templates|work-lists|new|edit\/[A-Za-z0-9_-]+))?$/.test(here);

/** Scenarios and what they use (PRODUCT D1-D4, E1), under tabs; the screens
 * themselves are loaded the first time one is opened. */
export function Scenarios({ here }: { here: string }) {
  const [Screen, setScreen] = useState<Screen | null>(() => loaded);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    if (loaded) return;
    import("./scenarios/index")
      .then((m) => {
        loaded = m.Screen;
        setScreen(() => m.Screen);
      })
      .catch((e) => setFailed(String(e)));
  }, []);
  return (
    <div class="scenarios">
      <Tabs here={here} />
      {failed && (
        <p class="form-error" role="alert">
          {t("error.generic", { message: failed })}
        </p>
      )}
      {Screen ? <Screen here={here} /> : !failed && <p class="muted">{t("loading")}</p>}
    </div>
  );
}
