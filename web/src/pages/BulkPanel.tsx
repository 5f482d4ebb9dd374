import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type User } from "../api";
import { t, type Key } from "../i18n";
import { filterBody, follow, type Filter } from "../crm";
import { asApiError } from "../ui/errors";

type Action = "add_tags" | "remove_tags" | "assign" | "delete";
interface Bulk {
  id: string;
  action: Action;
  status: "queued" | "running" | "done" | "failed";
  done: number;
  total: number | null;
  changed: number;
  unchanged: number;
  refused: number;
  last_refusal: string | null;
  error: string | null;
}

const finished = (b: Bulk) => b.status === "done" || b.status === "failed";

/** A bulk action on the selected cards, or on every card `filter` matches when
 * `ids` is null (PRODUCT C4, C6, C8): tag, untag, hand over or delete. The job
 * runs on the server; its progress is followed here until it ends. */
export function BulkPanel({
  ids,
  filter,
  tags,
  users,
  onDone,
}: {
  ids: string[] | null;
  filter: Filter;
  tags: string[];
  users: User[];
  onDone: () => void;
}) {
  const [action, setAction] = useState<Action>("add_tags");
  const [tag, setTag] = useState("");
  const [user, setUser] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [job, setJob] = useState<Bulk | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    if (!job || finished(job)) return;
    return follow<Bulk>(
      `/api/bulk/${job.id}`,
      finished,
      (b) => {
        setJob(b);
        if (finished(b)) onDone();
      },
      (e) => setError(asApiError(e)),
    );
  }, [job?.id]);

  async function start(e: Event) {
    e.preventDefault();
    if (action === "delete" && !confirming) {
      setConfirming(true);
      return;
    }
    setConfirming(false);
    const body: Record<string, unknown> = { action };
    if (action === "add_tags" || action === "remove_tags") {
      body.tags = tag
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    }
    if (action === "assign") body.responsible_id = user || undefined;
    if (ids) body.ids = ids;
    else body.filter = filterBody(filter);
    try {
      setJob(await api<Bulk>("POST", "/api/clients/bulk", body));
      setError(null);
    } catch (err) {
      setError(asApiError(err));
    }
  }

  const mine = (field: string) =>
    error?.field === field ? (
      <small class="field-error" data-field={field}>
        {error.message}
      </small>
    ) : null;
  const running = job !== null && !finished(job);

  return (
    <form class="bulk" aria-label={t("crm.bulk.title")} onSubmit={start}>
      <label class="field">
        <span>{t("crm.bulk.action")}</span>
        <select
          name="action"
          value={action}
          onChange={(e) => (setAction((e.target as HTMLSelectElement).value as Action), setConfirming(false))}
        >
          {(["add_tags", "remove_tags", "assign", "delete"] as const).map((a) => (
            <option key={a} value={a}>
              {t(`crm.bulk.${a}` as Key)}
            </option>
          ))}
        </select>
      </label>
      {(action === "add_tags" || action === "remove_tags") && (
        <label class="field">
          <span>{t("crm.bulk.tags")}</span>
          <input
            name="bulk_tags"
            list="crm-tags"
            value={tag}
            aria-invalid={error?.field === "tags" ? "true" : undefined}
            onInput={(e) => setTag((e.target as HTMLInputElement).value)}
          />
          <datalist id="crm-tags">
            {tags.map((x) => (
              <option key={x} value={x} />
            ))}
          </datalist>
          {mine("tags")}
        </label>
      )}
      {action === "assign" && (
        <label class="field">
          <span>{t("crm.bulk.responsible")}</span>
          <select name="responsible_id" value={user} onChange={(e) => setUser((e.target as HTMLSelectElement).value)}>
            <option value="">—</option>
            {users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.full_name}
              </option>
            ))}
          </select>
          {mine("responsible_id")}
        </label>
      )}
      <div class="actions">
        <button type="submit" class={action === "delete" ? "danger" : undefined} disabled={running}>
          {confirming ? t("crm.bulk.confirm_delete") : t("crm.bulk.apply")}
        </button>
        {confirming && (
          <button type="button" class="link" onClick={() => setConfirming(false)}>
            {t("crm.cancel")}
          </button>
        )}
      </div>
      {confirming && <p class="muted">{ids ? t("crm.bulk.delete_warn", { n: ids.length }) : t("crm.bulk.delete_warn_all")}</p>}
      {error && !["tags", "responsible_id"].includes(error.field ?? "") && (
        <p class="form-error" role="alert">
          {error.message}
        </p>
      )}
      {job && (
        <div class="bulk-progress" role="status" data-status={job.status}>
          {running ? (
            <>
              {job.total ? (
                <progress max={job.total} value={job.done} aria-label={t("crm.bulk.progress")} />
              ) : (
                <progress aria-label={t("crm.bulk.progress")} />
              )}
              <span>{t("crm.bulk.running", { done: job.done, total: job.total ?? "?" })}</span>
            </>
          ) : job.status === "done" ? (
            <span>
              {t("crm.bulk.done", { changed: job.changed, unchanged: job.unchanged, refused: job.refused })}
              {job.last_refusal && ` ${t("crm.bulk.refusal", { why: job.last_refusal })}`}
            </span>
          ) : (
            <span class="form-error">{t("crm.bulk.failed", { why: job.error ?? "" })}</span>
          )}
        </div>
      )}
    </form>
  );
}
