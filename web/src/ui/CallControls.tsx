import { useState } from "preact/hooks";
import { t } from "../i18n";
import { call, isOnCall, softphone } from "../phone";
import { useSignal } from "../signal";

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

/** The buttons of a call that is on: its state, Mute, Hold, the keypad and
 * Hang up. Shown by the card's call panel and by the incoming-call bar. */
export function CallControls() {
  const c = useSignal(call);
  const [keypad, setKeypad] = useState(false);
  const [sent, setSent] = useState("");
  if (!isOnCall(c) || !("held" in c)) return null;
  const phone = (f: (m: Awaited<ReturnType<typeof softphone>>) => void) => void softphone().then(f);
  const talking = c.state === "talking";
  return (
    <>
      <p role="status" data-call={c.state} data-held={c.held ? "yes" : "no"}>
        {c.held ? t("phone.state.held") : t(`phone.state.${c.state}`)}
      </p>
      <button class="secondary" disabled={!talking} onClick={() => phone((m) => m.toggleMute())}>
        {c.muted ? t("phone.unmute") : t("phone.mute")}
      </button>
      <button class="secondary" disabled={!talking} onClick={() => phone((m) => m.toggleHold())}>
        {c.held ? t("phone.resume") : t("phone.hold")}
      </button>
      <button class="secondary" disabled={!talking} aria-expanded={keypad} onClick={() => setKeypad(!keypad)}>
        {t("phone.keypad")}
      </button>
      <button class="danger" onClick={() => phone((m) => m.hangUp())}>
        {t("phone.hang_up")}
      </button>
      {keypad && talking && (
        <div class="keypad" role="group" aria-label={t("phone.keypad")}>
          <output aria-live="polite">{sent}</output>
          {KEYS.map((k) => (
            <button
              key={k}
              class="secondary"
              onClick={() => {
                setSent((s) => (s + k).slice(-20));
                phone((m) => m.sendDigit(k));
              }}
            >
              {k}
            </button>
          ))}
        </div>
      )}
    </>
  );
}
