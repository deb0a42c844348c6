// A section of UI.md that later issues build: says honestly what will be here.
import { useTranslation } from "react-i18next";

import { EmptyState } from "../components/EmptyState";
import type { SectionId } from "../sections";

export function ComingSoon({ section }: { section: SectionId }) {
  const { t } = useTranslation();
  return (
    <section className="main" aria-labelledby="soon-title">
      <header className="section-head">
        <h1 id="soon-title">{t(`section.${section}`)}</h1>
      </header>
      <EmptyState
        testId={`soon-${section}`}
        title={t("soon.badge")}
        body={t(`soon.${section}`)}
      />
    </section>
  );
}
