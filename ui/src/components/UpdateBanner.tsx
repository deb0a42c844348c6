// A new version on the company's server: its notes and 安装并重启 / Install
// and restart. On the user's word the app downloads the package, checks its
// signature against the key it was built with, installs it and restarts;
// a package that does not verify is refused and nothing is installed.
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type { UpdateStatus } from "../bindings";

export function UpdateBanner({
  status,
  onStatus,
}: {
  status: UpdateStatus | null;
  onStatus: (s: UpdateStatus) => void;
}) {
  const { t } = useTranslation();
  const [installing, setInstalling] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  // "Later" hides this version until the app starts again.
  const [later, setLater] = useState<string | null>(null);
  const available = status?.available;
  if (!available || later === available.version) return null;

  const install = async () => {
    setInstalling(true);
    setError(null);
    try {
      // On success the app restarts and this never returns.
      onStatus(await api.installUpdate());
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setInstalling(false);
    }
  };

  return (
    <div
      className="update-banner"
      role="region"
      aria-labelledby="update-title"
      data-testid="update-banner"
      data-version={available.version}
    >
      <h2 id="update-title">{t("update.available", { version: available.version })}</h2>
      {available.notes.trim() !== "" && (
        <p className="update-notes" data-testid="update-notes">
          {available.notes}
        </p>
      )}
      {status.refused != null ? (
        <p className="error" role="alert" data-testid="update-refused" title={status.refused}>
          {t("update.refused")}
        </p>
      ) : (
        error && (
          <p className="error" role="alert" data-testid="update-error">
            {t("update.failed", { message: error.message })}
          </p>
        )
      )}
      <div className="detail-actions">
        {status.refused == null && (
          <button
            type="button"
            className="btn btn-primary"
            data-testid="update-install"
            disabled={installing}
            onClick={() => void install()}
          >
            {installing ? t("update.installing") : t("update.install")}
          </button>
        )}
        <button
          type="button"
          className="btn"
          data-testid="update-later"
          disabled={installing}
          onClick={() => setLater(available.version)}
        >
          {status.refused != null ? t("common.close") : t("update.later")}
        </button>
      </div>
    </div>
  );
}
