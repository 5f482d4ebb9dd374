import { t } from "../i18n";

/** A section whose screens are not built yet, said plainly. */
export function Pending({ title }: { title: string }) {
  return (
    <section class="card">
      <h1>{title}</h1>
      <p>
        <strong>{t("pending.title")}.</strong> {t("pending.body")}
      </p>
    </section>
  );
}
