import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { t } from "../i18n";

type Page = () => JSX.Element;

/** A page loaded on first visit, so the first screen's download stays small. */
export function Lazy({ load }: { load: () => Promise<Page> }) {
  const [page, setPage] = useState<{ Page: Page } | null>(null);
  useEffect(() => {
    void load().then((Page) => setPage({ Page }));
  }, [load]);
  return page ? <page.Page /> : <p class="muted">{t("loading")}</p>;
}
