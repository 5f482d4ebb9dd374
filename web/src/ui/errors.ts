import { ApiError, OfflineError } from "../api";
import { t } from "../i18n";
import { signal } from "../signal";

/** Set while the last request could not reach the server; shown as a banner. */
export const offline = signal(false);

/** The error as a form shows it; an unreachable server raises the banner instead. */
export function asApiError(e: unknown): ApiError | null {
  if (e instanceof OfflineError) {
    offline.set(true);
    return null;
  }
  offline.set(false);
  if (e instanceof ApiError) return e;
  return new ApiError(0, { code: "client", message: t("error.generic", { message: String(e) }) });
}
