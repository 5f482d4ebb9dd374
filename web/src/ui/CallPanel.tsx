import { useEffect } from "preact/hooks";
import type { Phone } from "../api";
import { t } from "../i18n";
import { useSignal } from "../signal";
import { call, line, softphone } from "../phone";

/** JsSIP's cause when the browser gives no microphone (refused, or none there). */
const NO_MICROPHONE = "User Denied Media Access";

/** The softphone on a card: the line's state, Call for each number, and while
 * a call is on, Mute and Hang up. `autoDial` calls the first number as soon as
 * the line is ready (a scenario that dials the next card itself). */
export function CallPanel({ phones, autoDial }: { phones: Phone[]; autoDial: boolean }) {
  const l = useSignal(line);
  const c = useSignal(call);
  useEffect(() => {
    softphone()
      .then((p) => p.connect())
      .catch((e) => line.set({ state: "failed", reason: String(e) }));
  }, []);
  useEffect(() => {
    if (autoDial && l.state === "ready" && phones[0]) void softphone().then((p) => p.dial(phones[0].e164));
  }, [autoDial, l.state, phones[0]?.e164]);

  const onCall = c.state === "calling" || c.state === "ringing" || c.state === "talking";
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
      {onCall && (
        <>
          <p role="status" data-call={c.state}>
            {t(`phone.state.${c.state}`)}
          </p>
          <button class="secondary" onClick={() => softphone().then((m) => m.toggleMute())}>
            {c.muted ? t("phone.unmute") : t("phone.mute")}
          </button>
          <button class="danger" onClick={() => softphone().then((m) => m.hangUp())}>
            {t("phone.hang_up")}
          </button>
        </>
      )}
      {c.state === "ended" && (
        <p class={c.cause === NO_MICROPHONE ? "form-error" : "muted"} role="status" data-call="ended">
          {c.cause === NO_MICROPHONE ? t("phone.no_microphone") : t("phone.ended", { cause: c.cause })}
        </p>
      )}
    </div>
  );
}
