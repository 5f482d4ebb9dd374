import { useEffect, useState } from "preact/hooks";
import { api } from "../../api";
import { t } from "../../i18n";

export interface Question {
  id: string;
  text: string;
  kind: "single_choice" | "multiple_choice" | "text" | "number" | "date";
  required: boolean;
  options: string[];
}
interface Questionnaire {
  id: string;
  name: string;
  questions: Question[];
}

export type Answers = Record<string, string | number | string[]>;

/** Is every required question of `q` answered in `a`? */
export function complete(questions: Question[], a: Answers): boolean {
  return questions.every((q) => !q.required || answered(a[q.id]));
}

function answered(v: Answers[string] | undefined): boolean {
  return Array.isArray(v) ? v.length > 0 : v !== undefined && v !== "";
}

/** The scenario's questionnaire on the calling card (PRODUCT E2): one field
 * per question, by its kind; the answers are sent with the call's result. */
export function Questions({
  id,
  answers,
  onChange,
  onLoad,
  error,
}: {
  id: string;
  answers: Answers;
  onChange: (a: Answers) => void;
  onLoad: (questions: Question[]) => void;
  error: { field?: string; message: string } | null;
}) {
  const [q, setQ] = useState<Questionnaire | null>(null);
  useEffect(() => {
    api<Questionnaire>("GET", `/api/questionnaires/${id}`).then((x) => {
      setQ(x);
      onLoad(x.questions);
    });
  }, [id]);
  if (!q) return null;
  const set = (qid: string, v: Answers[string]) => onChange({ ...answers, [qid]: v });
  return (
    <fieldset class="questions" data-questionnaire={q.id}>
      <legend>{q.name}</legend>
      {q.questions.map((question) => {
        const v = answers[question.id];
        const name = `q-${question.id}`;
        const label = question.text + (question.required ? " *" : "");
        const fieldError =
          error?.field && (error.field === question.id || error.field.endsWith(`.${question.id}`)) ? (
            <small class="field-error" data-field={question.id}>
              {error.message}
            </small>
          ) : null;
        if (question.kind === "single_choice" || question.kind === "multiple_choice") {
          const many = question.kind === "multiple_choice";
          const chosen = Array.isArray(v) ? v : v ? [String(v)] : [];
          return (
            <div class="question" key={question.id} role="group" aria-label={question.text}>
              <span>{label}</span>
              {question.options.map((o) => (
                <label class="choice" key={o}>
                  <input
                    type={many ? "checkbox" : "radio"}
                    name={name}
                    checked={chosen.includes(o)}
                    onChange={(e) => {
                      const on = (e.target as HTMLInputElement).checked;
                      if (!many) set(question.id, o);
                      else set(question.id, on ? [...chosen, o] : chosen.filter((x) => x !== o));
                    }}
                  />
                  {o}
                </label>
              ))}
              {fieldError}
            </div>
          );
        }
        return (
          <label class="field question" key={question.id}>
            <span>{label}</span>
            <input
              name={name}
              type={question.kind === "number" ? "number" : question.kind === "date" ? "date" : "text"}
              value={v === undefined ? "" : String(v)}
              onInput={(e) => {
                const raw = (e.target as HTMLInputElement).value;
                set(question.id, question.kind === "number" && raw !== "" ? Number(raw) : raw);
              }}
            />
            {fieldError}
          </label>
        );
      })}
      <p class="muted">{t("calling.answers_with_result")}</p>
    </fieldset>
  );
}
