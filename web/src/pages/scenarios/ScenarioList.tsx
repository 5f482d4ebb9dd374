import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../../api";
import { t } from "../../i18n";
import { navigate } from "../../router";
import { asApiError } from "../../ui/errors";
import { FormErr, type CallResult, type Scenario } from "./common";

/** The company's scenarios (PRODUCT D1), each opened for editing. */
export function ScenarioList() {
  const [scenarios, setScenarios] = useState<Scenario[] | null>(null);
  const [results, setResults] = useState<CallResult[]>([]);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    Promise.all([api<Scenario[]>("GET", "/api/scenarios"), api<CallResult[]>("GET", "/api/call-results")])
      .then(([s, r]) => {
        setScenarios(s);
        setResults(r);
      })
      .catch((e) => setError(asApiError(e)));
  }, []);

  const resultName = (id: string) => results.find((r) => r.id === id)?.name ?? id;
  return (
    <section class="card">
      <header class="admin-head">
        <h1>{t("sc.list.title")}</h1>
        <button onClick={() => navigate("/scenarios/new")}>{t("sc.list.new")}</button>
      </header>
      <p class="muted">{t("sc.list.hint")}</p>
      <FormErr error={error} placed={[]} />
      {scenarios === null && !error && <p class="muted">{t("loading")}</p>}
      {scenarios?.length === 0 && <p class="muted">{t("sc.list.empty")}</p>}
      {!!scenarios?.length && (
        <table class="admin-table">
          <thead>
            <tr>
              <th>{t("sc.name")}</th>
              <th>{t("sc.direction")}</th>
              <th>{t("sc.results")}</th>
              <th>{t("sc.changed")}</th>
            </tr>
          </thead>
          <tbody>
            {scenarios.map((s) => (
              <tr key={s.id} data-id={s.id}>
                <td>
                  <a
                    href={`/scenarios/edit/${s.id}`}
                    onClick={(e) => (e.preventDefault(), navigate(`/scenarios/edit/${s.id}`))}
                  >
                    {s.name}
                  </a>
                </td>
                <td>
                  {s.direction === "incoming" ? t("sc.direction.incoming_to", { number: s.incoming_number ?? "" }) : t("sc.direction.outgoing")}
                </td>
                <td class="muted">{s.results.map((r) => resultName(r.result)).join(", ")}</td>
                <td class="muted">{new Date(s.updated_at).toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
