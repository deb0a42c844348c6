// The manager's first screen. A company made a moment ago has nothing to
// show here yet, so it opens on its first steps: add a rep, set the logo,
// write the first item. Each step opens the screen that does it and shows
// as done from what this computer already holds (the local cache: reps and
// library items pulled by sync, the company's logo in the session), so the
// card needs no server and works offline. It goes once every step is done.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import { api } from "../api";
import type { SyncStatus } from "../bindings";
import { EmptyState } from "../components/EmptyState";
import type { SectionId } from "../sections";

type Step = { id: "rep" | "logo" | "item"; section: SectionId; done: boolean };

/** The first steps and which are done, read again after each sync. */
function useFirstSteps(status: SyncStatus | null): Step[] | null {
  const [steps, setSteps] = useState<Step[] | null>(null);
  const synced = status?.last_synced_at_ms ?? null;
  useEffect(() => {
    let live = true;
    void Promise.all([
      api.libraryReps(),
      api.session(),
      api.library({ status: null, mine_only: false, search: null }),
    ]).then(
      ([reps, session, items]) =>
        live &&
        setSteps([
          { id: "rep", section: "team", done: reps.length > 0 },
          { id: "logo", section: "settings", done: !!session?.company.logo },
          { id: "item", section: "content", done: items.length > 0 },
        ]),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [synced]);
  return steps;
}

function FirstSteps({ steps, onGo }: { steps: Step[]; onGo: (s: SectionId) => void }) {
  const { t } = useTranslation();
  const left = steps.filter((s) => !s.done).length;
  return (
    <div className="card-box first-steps" data-testid="first-steps">
      <h2>{t("overview.firstSteps.title")}</h2>
      <p className="hint">{t("overview.firstSteps.hint", { count: left })}</p>
      <ol className="first-steps-list">
        {steps.map((s) => (
          <li key={s.id} className={s.done ? "done" : ""} data-testid={`first-step-${s.id}`} data-done={s.done}>
            <span className="first-step-mark" aria-hidden="true">
              {s.done ? "✓" : ""}
            </span>
            <span className="first-step-text">
              <strong>{t(`overview.firstSteps.${s.id}.title`)}</strong>
              <span className="hint">{t(`overview.firstSteps.${s.id}.body`)}</span>
            </span>
            {s.done ? (
              <span className="first-step-state">{t("overview.firstSteps.done")}</span>
            ) : (
              <button
                type="button"
                className="btn"
                data-testid={`first-step-${s.id}-go`}
                onClick={() => onGo(s.section)}
              >
                {t(`overview.firstSteps.${s.id}.go`)}
              </button>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}

export function Overview({ status, onGo }: { status: SyncStatus | null; onGo: (s: SectionId) => void }) {
  const { t } = useTranslation();
  const steps = useFirstSteps(status);
  const open = steps?.some((s) => !s.done) ?? false;
  return (
    <section className="main" aria-labelledby="overview-title">
      <header className="section-head">
        <h1 id="overview-title">{t("section.overview")}</h1>
      </header>
      <div className="overview-body" data-testid="overview-body" data-loaded={steps !== null}>
        {open && steps && <FirstSteps steps={steps} onGo={onGo} />}
        <EmptyState testId="soon-overview" title={t("soon.badge")} body={t("soon.overview")} />
      </div>
    </section>
  );
}
