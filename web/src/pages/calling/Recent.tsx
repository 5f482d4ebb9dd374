import { useEffect, useState } from "preact/hooks";
import { api, type Page } from "../../api";
import { t, type Key } from "../../i18n";

interface Entry {
  id: string;
  kind: string;
  at: number;
  text: string;
}

/** The card's latest history on the calling screen: what happened before. */
export function Recent({ client, refresh }: { client: string; refresh: unknown }) {
  const [entries, setEntries] = useState<Entry[] | null>(null);
  useEffect(() => {
    api<Page<Entry>>("GET", `/api/clients/${client}/history?limit=5`).then(
      (p) => setEntries(p.items),
      () => setEntries([]),
    );
  }, [client, refresh]);
  if (!entries?.length) return null;
  return (
    <section class="history recent">
      <h3>{t("card.history")}</h3>
      <ul>
        {entries.map((e) => (
          <li key={e.id} data-kind={e.kind}>
            <time>{new Date(e.at).toLocaleString()}</time> <strong>{t(`history.${e.kind}` as Key)}</strong>
            {e.text && <div>{e.text}</div>}
          </li>
        ))}
      </ul>
    </section>
  );
}
