import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { t, type Key } from "../i18n";
import { call } from "../phone";
import { useSignal } from "../signal";
import { asApiError } from "./errors";

type State = "available" | "not_ready" | "wrap_up" | "dnd" | "offline";
interface StateView {
  state: State;
  reason: string | null;
  /** When a wrap-up ends (ms since the epoch). */
  wrap_up_until?: number | null;
}

const CHOICES: State[] = ["available", "not_ready", "dnd", "offline"];

/** The agent's state (PRODUCT E4) in the header: calls are offered only to
 * available agents. "Not ready" asks for a reason first. */
export function AgentState() {
  const [current, setCurrent] = useState<StateView | null>(null);
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<ApiError | null>(null);

  // Read again when a call ends: the company's wrap-up may have started (the
  // node sets it once the call's record is in), and when a wrap-up runs out.
  const c = useSignal(call);
  const ended = c.state === "ended";
  useEffect(() => {
    const read = () => api<StateView>("GET", "/api/me/state").then(setCurrent, (e) => setError(asApiError(e)));
    void read();
    if (!ended) return;
    const timer = setTimeout(read, 2000);
    return () => clearTimeout(timer);
  }, [ended]);
  useEffect(() => {
    if (current?.state !== "wrap_up" || !current.wrap_up_until) return;
    const timer = setTimeout(
      () => api<StateView>("GET", "/api/me/state").then(setCurrent, () => {}),
      Math.max(0, current.wrap_up_until - Date.now()) + 500,
    );
    return () => clearTimeout(timer);
  }, [current?.state, current?.wrap_up_until]);

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
