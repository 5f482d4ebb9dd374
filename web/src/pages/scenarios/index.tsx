// The scenario administration screens, loaded when one is first opened.

import { CallResults } from "./CallResults";
import { Questionnaires } from "./Questionnaires";
import { ScenarioEditor } from "./ScenarioEditor";
import { ScenarioList } from "./ScenarioList";
import { Templates } from "./Templates";
import { WorkLists } from "./WorkLists";

/** The screen for a path under /scenarios. */
export function Screen({ here }: { here: string }) {
  if (here === "/scenarios/results") return <CallResults />;
  if (here === "/scenarios/questionnaires") return <Questionnaires />;
  if (here === "/scenarios/templates") return <Templates />;
  if (here === "/scenarios/work-lists") return <WorkLists />;
  if (here === "/scenarios/new") return <ScenarioEditor id="new" />;
  const id = /^\/scenarios\/edit\/([A-Za-z0-9_-]+)$/.exec(here)?.[1];
  if (id) return <ScenarioEditor id={id} />;
  return <ScenarioList />;
}
