import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { t, type Key } from "../i18n";
import { asApiError } from "./errors";

type State = "available" | "not_ready" | "wrap_up" | "dnd" | "offline";
interface StateView {
  state: State;
  reason: string | null;
}

const CHOICES: State[] = ["available", "not_ready", "dnd", "offline"];

/** The agent's state (PRODUCT E4) in the header: calls are offered only to
 * available agents. "Not ready" asks for a reason first. */
export function AgentState() {
  const [current, setCurrent] = useState<StateView | null>(null);
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    api<StateView>("GET", "/api/me/state").then(setCurrent, (e) => setError(asApiError(e)));
  }, []);

  async function set(state: State, why?: string) {
    try {
      setCurrent(await api<StateView>("PUT", "/api/me/state", { state, reason: why }));
      setAsking(false);
      setError(null);
    } catch (e) {
      setError(asApiError(e));
    }
  }

  if (!current) return null;
  return (
    <div class="agent-state" data-state={current.state}>
      <select
        name="agent-state"
        aria-label={t("state.label")}
        value={asking ? "not_ready" : current.state}
        onChange={(e) => {
          const v = (e.target as HTMLSelectElement).value as State;
          if (v === "not_ready") setAsking(true);
          else void set(v);
        }}
      >
        {(current.state === "wrap_up" ? [...CHOICES, "wrap_up" as State] : CHOICES).map((s) => (
          <option key={s} value={s}>
            {t(`state.${s}` as Key)}
          </option>
        ))}
      </select>
      {current.state === "not_ready" && current.reason && !asking && <span class="muted"> {current.reason}</span>}
      {asking && (
        <form onSubmit={(e) => (e.preventDefault(), set("not_ready", reason))}>
          <input name="reason" placeholder={t("state.reason")} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
          <button type="submit">OK</button>
        </form>
      )}
      {error && (
        <small class="field-error" role="alert" data-field={error.field}>
          {error.message}
        </small>
      )}
    </div>
  );
}
