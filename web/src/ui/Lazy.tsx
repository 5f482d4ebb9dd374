import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { t } from "../i18n";

/** A page whose code is fetched the first time it is shown, keeping the first load small. */
export function lazyPage(load: () => Promise<() => JSX.Element>): () => JSX.Element {
  let loaded: (() => JSX.Element) | null = null;
  return function Lazy() {
    const [Page, setPage] = useState(() => loaded);
    useEffect(() => {
      if (!Page) void load().then((p) => ((loaded = p), setPage(() => p)));
    }, []);
    return Page ? <Page /> : <p class="muted">{t("loading")}</p>;
  };
}
