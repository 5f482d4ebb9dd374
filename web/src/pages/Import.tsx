import { useEffect, useState } from "preact/hooks";
import { api, ApiError, download, upload } from "../api";
import { t, type Key } from "../i18n";
import { navigate } from "../router";
import { asApiError } from "../ui/errors";
import { FormError } from "../ui/Field";

type Column = { target: string; name?: string };
interface Job {
  id: string;
  file_name: string;
  status: "uploaded" | "queued" | "running" | "done" | "failed";
  percent: number;
  rows_total: number;
  rows_done: number;
  organizations_created: number;
  contacts_created: number;
  merged: number;
  skipped: number;
  rejected: number;
  error: string | null;
}
interface Preview {
  import: Job;
  format: string;
  encoding: string | null;
  separator: string | null;
  sheets: string[];
  header: string[];
  columns: Column[];
  rows: { number: number; cells: string[] }[];
  problems: string[];
}

const TARGETS = [
  "skip", "organization", "last_name", "first_name", "patronymic", "full_name", "position",
  "phones", "emails", "city", "industry", "website", "inn", "description", "tags", "client_type",
];
const ENCODINGS = ["utf-8", "windows-1251", "koi8-r", "ibm866", "windows-1250", "iso-8859-2", "utf-16le"];
const SEPARATORS = [";", ",", "tab", "|"];

const key = (c: Column) => (c.target === "custom" ? `custom:${c.name}` : c.target);
const column = (k: string): Column => (k.startsWith("custom:") ? { target: "custom", name: k.slice(7) } : { target: k });

/** Loading a contact base (PRODUCT C2): upload, preview with the guessed
 * mapping (editable), options, progress, result and rejected rows. Nothing is
 * written before "Import". */
export function Import() {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [columns, setColumns] = useState<Column[]>([]);
  const [encoding, setEncoding] = useState("");
  const [separator, setSeparator] = useState("");
  const [sheet, setSheet] = useState("");
  const [policy, setPolicy] = useState("merge");
  const [tag, setTag] = useState("");
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  function show(p: Preview) {
    setPreview(p);
    setColumns(p.columns);
    setEncoding(p.encoding ?? "");
    setSeparator(p.separator === "\t" ? "tab" : p.separator ?? "");
    setError(null);
  }

  async function pick(file: File) {
    try {
      show(await upload<Preview>(`/api/imports?file_name=${encodeURIComponent(file.name)}`, file));
    } catch (e) {
      setError(asApiError(e));
    }
  }

  async function reread(over: { encoding?: string; separator?: string; sheet?: string }) {
    if (!preview) return;
    const q = new URLSearchParams();
    const enc = over.encoding ?? encoding;
    const sep = over.separator ?? separator;
    const sh = over.sheet ?? sheet;
    if (enc && preview.format === "csv") q.set("encoding", enc);
    if (sep && preview.format === "csv") q.set("separator", sep);
    if (sh) q.set("sheet", sh);
    try {
      show(await api<Preview>("GET", `/api/imports/${preview.import.id}/preview?${q}`));
    } catch (e) {
      setError(asApiError(e));
    }
  }

  async function confirm() {
    if (!preview) return;
    try {
      const csv = preview.format === "csv";
      setJob(
        await api<Job>("POST", `/api/imports/${preview.import.id}/confirm`, {
          columns,
          encoding: csv && encoding ? encoding : undefined,
          separator: csv && separator ? separator : undefined,
          sheet: sheet || undefined,
          tag: tag.trim() || undefined,
          duplicate_policy: policy,
        }),
      );
    } catch (e) {
      setError(asApiError(e));
    }
  }

  // Progress: the job is read again until it ends.
  useEffect(() => {
    if (!job || job.status === "done" || job.status === "failed") return;
    const timer = setTimeout(
      () => api<Job>("GET", `/api/imports/${job.id}`).then(setJob, (e) => setError(asApiError(e))),
      500,
    );
    return () => clearTimeout(timer);
  }, [job]);

  if (job) return <Progress job={job} error={error} />;
  return (
    <section class="card">
      <h1>{t("import.title")}</h1>
      <FormError error={error} fields={[]} />
      <label class="field">
        <span>{t("import.file")}</span>
        <input
          type="file"
          name="file"
          accept=".csv,.xlsx,.xls,text/csv"
          onChange={(e) => {
            const f = (e.target as HTMLInputElement).files?.[0];
            if (f) void pick(f);
          }}
        />
      </label>
      {preview && (
        <>
          <div class="import-options">
            {preview.format === "csv" && (
              <>
                <label class="field">
                  <span>{t("import.encoding")}</span>
                  <select name="encoding" value={encoding} onChange={(e) => { const v = (e.target as HTMLSelectElement).value; setEncoding(v); void reread({ encoding: v }); }}>
                    {[...new Set([encoding, ...ENCODINGS])].filter(Boolean).map((x) => <option key={x} value={x}>{x}</option>)}
                  </select>
                </label>
                <label class="field">
                  <span>{t("import.separator")}</span>
                  <select name="separator" value={separator} onChange={(e) => { const v = (e.target as HTMLSelectElement).value; setSeparator(v); void reread({ separator: v }); }}>
                    {SEPARATORS.map((x) => <option key={x} value={x}>{x}</option>)}
                  </select>
                </label>
              </>
            )}
            {preview.sheets.length > 1 && (
              <label class="field">
                <span>{t("import.sheet")}</span>
                <select name="sheet" value={sheet || preview.sheets[0]} onChange={(e) => { const v = (e.target as HTMLSelectElement).value; setSheet(v); void reread({ sheet: v }); }}>
                  {preview.sheets.map((x) => <option key={x} value={x}>{x}</option>)}
                </select>
              </label>
            )}
            <label class="field">
              <span>{t("import.duplicates")}</span>
              <select name="duplicate_policy" value={policy} onChange={(e) => setPolicy((e.target as HTMLSelectElement).value)}>
                {["skip", "merge", "load_anyway"].map((x) => <option key={x} value={x}>{t(`import.policy.${x}` as Key)}</option>)}
              </select>
            </label>
            <label class="field">
              <span>{t("import.tag")}</span>
              <input name="tag" value={tag} onInput={(e) => setTag((e.target as HTMLInputElement).value)} />
            </label>
          </div>
          {preview.problems.length > 0 && (
            <ul class="problems">{preview.problems.map((p) => <li key={p}>{p}</li>)}</ul>
          )}
          <div class="scroll">
            <table class="preview">
              <thead>
                <tr>
                  <th />
                  {preview.header.map((h, i) => (
                    <th key={i}>
                      <div>{h}</div>
                      <select
                        aria-label={t("import.column", { name: h })}
                        value={key(columns[i] ?? { target: "skip" })}
                        onChange={(e) => {
                          const next = [...columns];
                          next[i] = column((e.target as HTMLSelectElement).value);
                          setColumns(next);
                        }}
                      >
                        {[...new Set([...TARGETS, key(columns[i] ?? { target: "skip" })])].map((x) => (
                          <option key={x} value={x}>
                            {x.startsWith("custom:") ? x.slice(7) : t(`import.target.${x}` as Key)}
                          </option>
                        ))}
                      </select>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {preview.rows.map((r) => (
                  <tr key={r.number}>
                    <td class="muted">{r.number}</td>
                    {r.cells.map((c, i) => <td key={i}>{c}</td>)}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <FormError error={error} fields={[]} />
          <button onClick={confirm}>{t("import.start")}</button>
        </>
      )}
    </section>
  );
}

function Progress({ job, error }: { job: Job; error: ApiError | null }) {
  const finished = job.status === "done" || job.status === "failed";
  return (
    <section class="card">
      <h1>{t("import.title")}: {job.file_name}</h1>
      <FormError error={error} fields={[]} />
      <progress max={100} value={job.percent} aria-label={t("import.progress")} />
      <p class="muted">{t("import.rows", { done: job.rows_done, total: job.rows_total })}</p>
      {job.status === "failed" && <p class="form-error" role="alert">{job.error}</p>}
      {finished && job.status === "done" && (
        <div role="status" data-import="done">
          <p>
            {t("import.result", {
              orgs: job.organizations_created,
              contacts: job.contacts_created,
              merged: job.merged,
              skipped: job.skipped,
              rejected: job.rejected,
            })}
          </p>
          <div class="actions">
          {job.rejected > 0 && (
            <button class="secondary" onClick={() => download(`/api/imports/${job.id}/rejected`, `rejected-${job.file_name}.csv`)}>
              {t("import.rejected")}
            </button>
          )}
          <button onClick={() => navigate("/contacts")}>{t("nav.contacts")}</button>
          </div>
        </div>
      )}
    </section>
  );
}
