import { useEffect, useState } from "preact/hooks";
import { api, type Client } from "../api";
import { t } from "../i18n";
import { call, softphone } from "../phone";
import { navigate } from "../router";
import { useSignal } from "../signal";
import { CallControls } from "./CallControls";

interface ScreenPop {
  number: string;
  display: string;
  status: "known" | "other" | "unknown" | "created";
  card: Client | null;
  matches: number;
  scenario: string | null;
}

/** A customer's call (PRODUCT C12): the line it came in on, who is calling
 * (their card, a colleague's client, or a new number) and Answer / Decline;
 * once answered, the call's controls stay here on every page, and the card
 * opens (a new number opens a new card with the number filled in). */
export function IncomingCall() {
  const c = useSignal(call);
  const [pop, setPop] = useState<ScreenPop | null>(null);
  const [closed, setClosed] = useState<string | null>(null);
  const incoming = c.state !== "idle" ? c.incoming : undefined;
  const key = c.state !== "idle" ? `${c.number}|${c.record ?? ""}` : "";

  // Who is calling is asked once per call, when it is offered, and kept
  // while the call goes on.
  useEffect(() => {
    setPop(null);
    if (c.state !== "offered") return;
    const q = new URLSearchParams({ number: c.number });
    if (incoming?.called) q.set("line", incoming.called);
    api<ScreenPop>("GET", `/api/screen-pop?${q}`).then(setPop, () => setPop(null));
  }, [incoming ? key : ""]);

  if (c.state === "idle" || !incoming || closed === key) return null;
  const who = pop?.card?.name ?? (pop?.status === "other" ? t("incoming.other") : t("incoming.unknown"));
  const number = pop?.display ?? c.number;

  const caller = c.number;
  function openCard() {
    if (pop?.card && pop.status !== "other") navigate(`/contacts/${pop.card.id}`);
    else if (pop?.status === "unknown") navigate(`/contacts/new?phone=${encodeURIComponent(caller)}`);
  }

  return (
    <section class="incoming" role="dialog" aria-label={t("incoming.title")} data-call={c.state}>
      <div class="incoming-who">
        <strong>{c.state === "offered" ? t("incoming.title") : t("incoming.on_call")}</strong>
        {incoming.line && <span class="tag">{incoming.line}</span>}
        <span class="incoming-name">{who}</span>
        <span class="muted">{number}</span>
      </div>
      <div class="call-panel">
        {c.state === "offered" && (
          <>
            <button
              onClick={() => {
                void softphone().then((m) => m.answer());
                openCard();
              }}
            >
              {t("incoming.answer")}
            </button>
            <button class="danger" onClick={() => void softphone().then((m) => m.decline())}>
              {t("incoming.decline")}
            </button>
          </>
        )}
        <CallControls />
        {c.state === "ended" && (
          <>
            <p class="muted" role="status" data-call="ended">
              {t("phone.ended", { cause: c.cause })}
            </p>
            <button class="secondary" onClick={() => setClosed(key)}>
              {t("incoming.close")}
            </button>
          </>
        )}
      </div>
    </section>
  );
}
