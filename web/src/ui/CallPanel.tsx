import { useEffect } from "preact/hooks";
import type { Phone } from "../api";
import { t } from "../i18n";
import { useSignal } from "../signal";
import { call, isOnCall, line, softphone } from "../phone";
import { CallControls } from "./CallControls";

/** JsSIP's cause when the browser gives no microphone (refused, or none there). */
const NO_MICROPHONE = "User Denied Media Access";

/** The softphone on a card: the line's state, Call for each number, and while
 * a call is on, its controls. `autoDial` calls the first number as soon as
 * the line is ready (a scenario that dials the next card itself). */
export function CallPanel({ phones, autoDial }: { phones: Phone[]; autoDial: boolean }) {
  const l = useSignal(line);
  const c = useSignal(call);
  useEffect(() => {
    if (autoDial && l.state === "ready" && phones[0]) void softphone().then((p) => p.dial(phones[0].e164));
  }, [autoDial, l.state, phones[0]?.e164]);

  const onCall = isOnCall(c) || c.state === "offered";
  // A customer's call has its controls in the incoming-call bar.
  const incoming = c.state !== "idle" && !!c.incoming;
  return (
    <div class="call-panel">
      <p class="muted" data-line={l.state}>
        {l.state === "failed" ? t("phone.failed", { reason: l.reason }) : t(`phone.line.${l.state}`)}
      </p>
      {!onCall &&
        phones.map((p) => (
          <button key={p.e164} disabled={l.state !== "ready"} onClick={() => softphone().then((m) => m.dial(p.e164))}>
            {t("phone.call", { number: p.display })}
          </button>
        ))}
      {!incoming && <CallControls />}
      {c.state === "ended" && !incoming && (
        <p class={c.cause === NO_MICROPHONE ? "form-error" : "muted"} role="status" data-call="ended">
          {c.cause === NO_MICROPHONE ? t("phone.no_microphone") : t("phone.ended", { cause: c.cause })}
        </p>
      )}
    </div>
  );
}
