// 海报邀请: makes a multi-use poster invitation on this device (signed
// offline, so it needs no network), renders it with the QR drawn on the
// company template, shows it scaled down, and saves the full 1080x1920 PNG.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type { PosterInvitation } from "../bindings";
import { Dialog } from "../components/Dialog";
import { useToast } from "../components/Toast";
import { formatWhen } from "../format";
import { useNow } from "../hooks";
import { isUnsynced } from "../invite";

export function PosterDialog({ onClose, onCreated }: { onClose: () => void; onCreated: () => void }) {
  const { t } = useTranslation();
  const toast = useToast();
  const now = useNow();
  const [poster, setPoster] = useState<PosterInvitation | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    let live = true;
    api
      .posterInvitation()
      .then((p) => {
        if (!live) return;
        setPoster(p);
        onCreated();
      })
      .catch((e: ApiError) => live && setError(e));
    return () => {
      live = false;
    };
    // Once per opening: each call creates an invitation.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const save = async (p: PosterInvitation) => {
    setSaving(true);
    try {
      const path = await api.savePng(p.png_base64, `warmlead-invite-${p.invitation.short_code}.png`);
      // Null: the person closed the save dialog.
      if (path) toast(t("invite.poster.saved", { path }));
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setSaving(false);
    }
  };

  return (
    <Dialog title={t("invite.poster.title")} onClose={onClose} testId="poster-dialog">
      <div className="stack poster-stack">
        {error && (
          <div className="error" role="alert">
            {error.code === "offline" ? t("invite.offline") : t("error.generic", { message: error.message })}
          </div>
        )}
        {!poster && !error && (
          <p className="hint" aria-busy="true">
            {t("invite.poster.creating")}
          </p>
        )}
        {poster && (
          <>
            <img
              className="poster-preview"
              src={`data:image/png;base64,${poster.png_base64}`}
              alt={t("invite.poster.alt")}
              data-testid="poster-image"
            />
            <p className="hint">
              {t("invite.poster.hint", {
                code: poster.invitation.short_code,
                when: formatWhen(poster.invitation.expires_at_ms, now, t, true),
              })}
            </p>
            {isUnsynced(poster.invitation) && (
              <p className="hint" data-testid="poster-unsynced">
                {t("invite.unsyncedHint")}
              </p>
            )}
            <div className="dialog-actions">
              <button
                type="button"
                className="btn btn-primary"
                disabled={saving}
                onClick={() => void save(poster)}
                data-testid="poster-save"
              >
                {t("invite.poster.save")}
              </button>
            </div>
          </>
        )}
      </div>
    </Dialog>
  );
}
