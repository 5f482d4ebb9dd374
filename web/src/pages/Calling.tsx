import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type Client } from "../api";
import { call } from "../phone";
import { t } from "../i18n";
import { asApiError } from "../ui/errors";
import { CallPanel } from "../ui/CallPanel";
import { FormError } from "../ui/Field";
import { complete, Questions, type Answers, type Question } from "./calling/Questions";
import { Recent } from "./calling/Recent";
import { Script } from "../ui/Script";

interface WorkList {
  id: string;
  name: string;
  scenario: string;
}
interface Scenario {
  id: string;
  name: string;
  script: string;
  results: { result: string; comment: string | null }[];
  result_required: boolean;
  questionnaire: string | null;
  email_template: string | null;
  mail_account: string | null;
}
interface CallResult {
  id: string;
  name: string;
  kind: "normal" | "call_later" | "done";
}
interface Skipped {
  closed: number;
  called_recently: number;
  outside_hours: number;
  claimed: number;
}
interface NextCard {
  card: Client | null;
  auto_dial: boolean;
  more: boolean;
  skipped: Skipped;
}

type Saved = { card: Client; next: NextCard | null };

/** Saves a result; a call that has only just ended may not have its record in
 * yet (409 `call_pending`), so that answer is retried for a few seconds. */
async function saveResult(list: string, body: object): Promise<Saved> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await api<Saved>("POST", `/api/work-lists/${list}/results`, body);
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== "call_pending" || attempt >= 10) throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** Working a list (PRODUCT E1): choose a list, get a card with the script,
 * save a result, and go on to the next card or stay on this one. */
export function Calling() {
  const [lists, setLists] = useState<WorkList[] | null>(null);
  const [list, setList] = useState<WorkList | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    api<WorkList[]>("GET", "/api/work-lists")
      .then(setLists)
      .catch((e) => setError(asApiError(e)));
  }, []);

  if (list) return <WorkListScreen list={list} onLeave={() => setList(null)} />;
  return (
    <section class="card">
      <h1>{t("calling.title")}</h1>
      <FormError error={error} fields={[]} />
      {lists === null && !error && <p class="muted">{t("loading")}</p>}
      {lists?.length === 0 && <p class="muted">{t("calling.no_lists")}</p>}
      <ul class="lists">
        {lists?.map((l) => (
          <li key={l.id}>
            <button onClick={() => setList(l)}>{l.name}</button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function WorkListScreen({ list, onLeave }: { list: WorkList; onLeave: () => void }) {
  const [scenario, setScenario] = useState<Scenario | null>(null);
  const [results, setResults] = useState<Record<string, CallResult>>({});
  const [next, setNext] = useState<NextCard | null>(null);
  const [saved, setSaved] = useState<Client | null>(null);
  const [choice, setChoice] = useState("");
  const [comment, setComment] = useState("");
  const [callBack, setCallBack] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [advanced, setAdvanced] = useState(false);
  const [answers, setAnswers] = useState<Answers>({});
  const [questions, setQuestions] = useState<Question[]>([]);
  const [mailed, setMailed] = useState<string | null>(null);

  async function take() {
    setBusy(true);
    try {
      show(await api<NextCard>("POST", `/api/work-lists/${list.id}/next`));
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  }

  function show(n: NextCard) {
    setNext(n);
    setSaved(null);
    setChoice("");
    setComment("");
    setCallBack("");
    setAnswers({});
    setMailed(null);
    setError(null);
  }

  useEffect(() => {
    Promise.all([
      api<Scenario>("GET", `/api/scenarios/${list.scenario}`),
      api<CallResult[]>("GET", "/api/call-results"),
    ])
      .then(([s, rs]) => {
        setScenario(s);
        setResults(Object.fromEntries(rs.map((r) => [r.id, r])));
        return take();
      })
      .catch((e) => setError(asApiError(e)));
  }, [list.id]);

  async function save(andNext: boolean) {
    const card = next?.card;
    if (!card) return;
    setBusy(true);
    try {
      const c = call.get();
      const record = c.state === "ended" && c.record ? c.record : undefined;
      // The questionnaire's answers go with the call they were given in.
      if (scenario?.questionnaire && Object.keys(answers).length) {
        if (!record) throw new ApiError(422, { code: "invalid", field: "answers", message: t("calling.answers_need_call") });
        await api("POST", `/api/questionnaires/${scenario.questionnaire}/answers`, {
          call: record,
          client: card.id,
          scenario: scenario.id,
          status: complete(questions, answers) ? "complete" : "postponed",
          answers,
        });
      }
      const body = {
        client: card.id,
        result: choice,
        comment: comment.trim() || undefined,
        call_back_at: callBack ? new Date(callBack).getTime() : undefined,
        // The call just made from this card, if it has a record id.
        call: record,
        next: andNext,
      };
      const r = await saveResult(list.id, body);
      call.set({ state: "idle" });
      if (r.next) {
        setAdvanced(true);
        show(r.next);
      }
      else {
        setSaved(r.card);
        setError(null);
      }
    } catch (e) {
      setError(asApiError(e));
    } finally {
      setBusy(false);
    }
  }

  /** Sends the scenario's e-mail template to the card (a queued job). */
  async function mail() {
    const card = next?.card;
    if (!card || !scenario?.email_template || !scenario.mail_account) return;
    try {
      const m = await api<{ id: string }>("POST", `/api/clients/${card.id}/emails`, {
        template: scenario.email_template,
        account: scenario.mail_account,
      });
      setMailed(m.id);
    } catch (e) {
      setError(asApiError(e));
    }
  }

  const card = next?.card ?? null;
  // A scenario that dials by itself does so for the cards after the first.
  const autoDial = !!next?.auto_dial && advanced;
  const chosen = results[choice];
  const fieldError = (name: string) =>
    error?.field === name ? (
      <small class="field-error" data-field={name}>
        {error.message}
      </small>
    ) : null;

  return (
    <section class="card calling">
      <header class="calling-head">
        <h1>{list.name}</h1>
        <button class="link" onClick={onLeave}>
          {t("calling.other_list")}
        </button>
      </header>
      <FormError error={error} fields={["result", "comment", "call_back_at", ...questions.map((q) => q.id)]} />
      {next && !card && (
        <div class="empty" role="status">
          <p>{next.more ? t("calling.keep_looking") : t("calling.none_now")}</p>
          <p class="muted">
            {t("calling.skipped", {
              closed: next.skipped.closed,
              recent: next.skipped.called_recently,
              hours: next.skipped.outside_hours,
              claimed: next.skipped.claimed,
            })}
          </p>
          <button onClick={take} disabled={busy}>
            {t("calling.try_again")}
          </button>
        </div>
      )}
      {card && (
        <div class="calling-grid">
          <article class="client" data-id={card.id}>
            <h2>{card.name}</h2>
            <CallPanel phones={card.phones} autoDial={autoDial} />
            <p>{card.emails.join(", ")}</p>
            <p>{card.city ?? ""}</p>
            <p>
              {card.tags.map((tag) => (
                <span class="tag" key={tag}>
                  {tag}
                </span>
              ))}
            </p>
          </article>
          <div class="script-side">
            <Script html={scenario?.script ?? ""} />
            {scenario?.questionnaire && (
              <Questions
                id={scenario.questionnaire}
                answers={answers}
                onChange={setAnswers}
                onLoad={setQuestions}
                error={error}
              />
            )}
            <Recent client={card.id} refresh={saved} />
          </div>
          <form class="result" onSubmit={(e) => (e.preventDefault(), save(true))}>
            <fieldset>
              <legend>{t("calling.result")}</legend>
              {scenario?.results.map((o) => (
                <label key={o.result} class="choice">
                  <input
                    type="radio"
                    name="result"
                    value={o.result}
                    checked={choice === o.result}
                    onChange={() => setChoice(o.result)}
                  />
                  {results[o.result]?.name ?? o.result}
                  {o.comment && <small class="muted"> — {o.comment}</small>}
                </label>
              ))}
              {fieldError("result")}
            </fieldset>
            {chosen?.kind === "call_later" && (
              <label class="field">
                <span>{t("calling.call_back_at")}</span>
                <input
                  type="datetime-local"
                  name="call_back_at"
                  value={callBack}
                  onInput={(e) => setCallBack((e.target as HTMLInputElement).value)}
                />
                {fieldError("call_back_at")}
              </label>
            )}
            <label class="field">
              <span>{t("calling.comment")}</span>
              <textarea name="comment" value={comment} onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)} />
              {fieldError("comment")}
            </label>
            <div class="actions">
              <button type="submit" disabled={busy || !choice}>
                {t("calling.save_next")}
              </button>
              <button type="button" class="secondary" disabled={busy || !choice} onClick={() => save(false)}>
                {t("calling.save_stay")}
              </button>
              {!scenario?.result_required && (
                <button type="button" class="link" disabled={busy} onClick={take}>
                  {t("calling.skip")}
                </button>
              )}
            </div>
            {scenario?.email_template && scenario.mail_account && card.emails.length > 0 && (
              <p>
                <button type="button" class="secondary" disabled={busy || !!mailed} onClick={() => void mail()}>
                  {t("calling.send_email", { to: card.emails[0] })}
                </button>
                {mailed && (
                  <span class="muted" role="status" data-mail={mailed}>
                    {" "}
                    {t("calling.email_queued")}
                  </span>
                )}
              </p>
            )}
            {saved && (
              <p class="muted" role="status">
                {t("calling.saved")}
              </p>
            )}
          </form>
        </div>
      )}
    </section>
  );
}
