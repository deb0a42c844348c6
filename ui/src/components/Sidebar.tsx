// The narrow left column: the role's sections, then who is signed in and
// the sync badge at the bottom.
import { useTranslation } from "react-i18next";

import type { Session, SyncStatus } from "../bindings";
import { BUILT, SECTIONS, type SectionId } from "../sections";
import { SyncBadge } from "./SyncBadge";

export function Sidebar({
  session,
  current,
  onSelect,
  status,
  syncing,
  onSyncNow,
  onDismiss,
}: {
  session: Session;
  current: SectionId;
  onSelect: (s: SectionId) => void;
  status: SyncStatus | null;
  syncing: boolean;
  onSyncNow: () => void;
  onDismiss: (mutationId: string) => Promise<void>;
}) {
  const { t } = useTranslation();
  const sections = SECTIONS[session.user.role];

  // Up/down arrows move between sections, as in a native sidebar.
  const onKeyDown = (e: React.KeyboardEvent<HTMLElement>) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    const buttons = [...e.currentTarget.querySelectorAll<HTMLButtonElement>(".nav-item")];
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (i < 0) return;
    e.preventDefault();
    const next = e.key === "ArrowDown" ? Math.min(i + 1, buttons.length - 1) : Math.max(i - 1, 0);
    buttons[next]?.focus();
  };

  return (
    <aside className="sidebar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">
          暖
        </span>
        <span>{t("app.name")}</span>
      </div>
      <nav className="nav" aria-label={t("nav.label")} onKeyDown={onKeyDown}>
        {sections.map((s) => (
          <button
            key={s}
            type="button"
            className="nav-item"
            data-testid={`nav-${s}`}
            aria-current={s === current ? "page" : undefined}
            onClick={() => onSelect(s)}
          >
            <span>{t(`section.${s}`)}</span>
            {!BUILT.has(s) && <span className="nav-soon">{t("soon.badge")}</span>}
          </button>
        ))}
      </nav>
      <div className="me">
        <div>
          <div className="me-name" data-testid="me-name">
            {session.user.name}
          </div>
          <div className="me-company">{session.company.name}</div>
        </div>
        <SyncBadge
          status={status}
          busy={syncing}
          onSyncNow={onSyncNow}
          onDismiss={onDismiss}
        />
      </div>
    </aside>
  );
}
