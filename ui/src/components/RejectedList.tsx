// Changes the server refused, each with what it was about, why, what became
// of it here, and a button to dismiss it (only the record goes: the change
// was undone when it was refused).
import { useState } from "react";
import { useTranslation } from "react-i18next";

import type { RejectedChange } from "../bindings";
import { rejectionText } from "../rejections";

export function RejectedList({
  rejected,
  onDismiss,
  testId,
}: {
  rejected: readonly RejectedChange[];
  onDismiss: (mutationId: string) => Promise<void>;
  testId: string;
}) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState<string | null>(null);
  return (
    <ul className="rejected" data-testid={testId}>
      {rejected.map((r) => {
        const text = rejectionText(r, t);
        const what = text.subject ? `${text.kind} “${text.subject}”` : text.kind;
        return (
          <li key={r.mutation_id} data-testid="rejected-change" data-name={r.name}>
            <div className="rejected-text">
              <strong>{what}</strong>
              <span>{text.reason}</span>
              <span className="hint">{text.after}</span>
            </div>
            <button
              type="button"
              className="btn btn-quiet"
              data-testid="dismiss-rejected"
              aria-label={t("rejected.dismissLabel", { what })}
              disabled={busy === r.mutation_id}
              onClick={() => {
                setBusy(r.mutation_id);
                onDismiss(r.mutation_id).finally(() => setBusy(null));
              }}
            >
              {t("rejected.dismiss")}
            </button>
          </li>
        );
      })}
    </ul>
  );
}
