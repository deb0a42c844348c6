// The sync badge: green synced, amber syncing, grey offline with waiting
// changes, red when a rejected change needs the user's eyes. Clicking it
// shows the details (each rejected change until dismissed); the round
// button next to it syncs now.
import { useState } from "react";
import { useTranslation } from "react-i18next";

import type { SyncStatus } from "../bindings";
import { formatAgo } from "../format";
import { useNow } from "../hooks";
import { RejectedList } from "./RejectedList";

export function SyncBadge({
  status,
  busy,
  onSyncNow,
  onDismiss,
}: {
  status: SyncStatus | null;
  busy: boolean;
  onSyncNow: () => void;
  onDismiss: (mutationId: string) => Promise<void>;
}) {
  const { t } = useTranslation();
  const now = useNow();
  const [open, setOpen] = useState(false);
  const state = busy ? "syncing" : (status?.state ?? "offline");
  const last =
    status?.last_synced_at_ms != null
      ? t("sync.lastSynced", { when: formatAgo(status.last_synced_at_ms, now, t) })
      : t("sync.never");
  const pending = status?.pending ?? 0;
  const label =
    state === "offline" && pending > 0
      ? t("sync.waiting", { count: pending })
      : t(`sync.state.${state}`);

  return (
    <div className="sync-row">
      <button
        type="button"
        className="sync-badge"
        data-testid="sync-badge"
        data-state={state}
        title={last}
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(e) => e.key === "Escape" && setOpen(false)}
      >
        <span className="dot" aria-hidden="true" />
        <span>{label}</span>
      </button>
      <button
        type="button"
        className="btn btn-quiet sync-now"
        data-testid="sync-now"
        aria-label={t("sync.now")}
        title={t("sync.now")}
        aria-busy={busy}
        disabled={busy}
        onClick={onSyncNow}
      >
        <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">
          <path
            d="M13.5 8a5.5 5.5 0 1 1-1.6-3.9M13.5 2.5v3h-3"
            fill="none"
            stroke="currentColor"
            strokeWidth="1.5"
            strokeLinecap="round"
          />
        </svg>
      </button>
      {open && status && (
        <div className="popover" role="dialog" aria-label={t("sync.details")}>
          <strong>{t(`sync.state.${state}`)}</strong>
          <span>{last}</span>
          {pending > 0 && <span>{t("sync.waiting", { count: pending })}</span>}
          {status.state === "offline" && <span className="hint">{t("sync.offlineNote")}</span>}
          {status.last_error && (
            <span className="hint">{t("sync.lastError", { error: status.last_error })}</span>
          )}
          {status.rejected.length > 0 && (
            <>
              <strong>{t("sync.rejectedTitle")}</strong>
              <RejectedList
                rejected={status.rejected}
                onDismiss={onDismiss}
                testId="sync-rejected"
              />
            </>
          )}
        </div>
      )}
    </div>
  );
}
