// 设置: language (remembered), the company's poster slogan (managers), and
// sign-out, which asks once and warns when changes are still waiting to sync.
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type { Session, SyncStatus } from "../bindings";
import { currentLanguage, LANGUAGES, setLanguage, type Language } from "../i18n";

/** Same limit as the server's (core `MAX_POSTER_SLOGAN_CHARS`). */
const MAX_SLOGAN_CHARS = 40;

/** The line under the rep's name on every invitation poster of the company. */
function PosterSlogan({ current }: { current: string | null }) {
  const { t } = useTranslation();
  const [text, setText] = useState(current ?? "");
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const save = async () => {
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      const company = await api.setPosterSlogan(text.trim() === "" ? null : text);
      setText(company.poster_slogan ?? "");
      setSaved(true);
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="card-box">
      <label htmlFor="poster-slogan">
        <h2>{t("settings.posterSlogan")}</h2>
      </label>
      <input
        id="poster-slogan"
        className="input"
        data-testid="poster-slogan"
        maxLength={MAX_SLOGAN_CHARS}
        value={text}
        placeholder={t("settings.posterSloganDefault")}
        onChange={(e) => {
          setText(e.target.value);
          setSaved(false);
        }}
      />
      <p className="hint">{t("settings.posterSloganHint", { max: MAX_SLOGAN_CHARS })}</p>
      {error && (
        <div className="error" role="alert">
          {t("error.generic", { message: error.message })}
        </div>
      )}
      {saved && <p role="status">{t("settings.posterSloganSaved")}</p>}
      <button
        type="button"
        className="btn"
        data-testid="poster-slogan-save"
        disabled={busy}
        onClick={() => void save()}
      >
        {t("common.save")}
      </button>
    </div>
  );
}

const LANGUAGE_NAMES: Record<Language, string> = { "zh-CN": "中文", en: "English" };

export function Settings({
  session,
  status,
  onSignedOut,
}: {
  session: Session;
  status: SyncStatus | null;
  onSignedOut: () => void;
}) {
  const { t } = useTranslation();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const pending = status?.pending ?? 0;

  const signOut = async () => {
    setBusy(true);
    setError(null);
    try {
      // The user saw the warning about waiting changes before confirming.
      await api.signOut(pending > 0);
      onSignedOut();
    } catch (e) {
      setError(e as ApiError);
      setBusy(false);
    }
  };

  return (
    <section className="main" aria-labelledby="settings-title">
      <header className="section-head">
        <h1 id="settings-title">{t("settings.title")}</h1>
      </header>
      <div className="page">
        <div className="card-box">
          <label htmlFor="lang-select">
            <h2>{t("settings.language")}</h2>
          </label>
          <select
            id="lang-select"
            className="input"
            data-testid="lang-select"
            value={currentLanguage()}
            onChange={(e) => setLanguage(e.target.value as Language)}
          >
            {LANGUAGES.map((l) => (
              <option key={l} value={l}>
                {LANGUAGE_NAMES[l]}
              </option>
            ))}
          </select>
        </div>
        {session.user.role === "manager" && <PosterSlogan current={session.company.poster_slogan} />}
        <div className="card-box">
          <h2>{t("settings.account")}</h2>
          <p>
            {t("settings.signedInAs", {
              name: session.user.name,
              role: t(`role.${session.user.role}`),
              company: session.company.name,
            })}
          </p>
          <p className="hint">{t("settings.server", { url: session.server_url })}</p>
          {error && (
            <div className="error" role="alert">
              {t("error.generic", { message: error.message })}
            </div>
          )}
          {!confirming ? (
            <div>
              <button
                type="button"
                className="btn btn-danger"
                data-testid="sign-out"
                onClick={() => setConfirming(true)}
              >
                {t("settings.signOut")}
              </button>
            </div>
          ) : (
            <div className="field" role="alertdialog" aria-labelledby="signout-q">
              <p id="signout-q">{t("settings.signOutConfirm")}</p>
              {pending > 0 && (
                <p className="error" data-testid="sign-out-pending">
                  {t("settings.signOutPending", { count: pending })}
                </p>
              )}
              <div className="detail-actions">
                <button
                  type="button"
                  className="btn btn-danger"
                  data-testid="sign-out-confirm"
                  disabled={busy}
                  onClick={() => void signOut()}
                  autoFocus
                >
                  {t(pending > 0 ? "settings.signOutAnyway" : "settings.signOutYes")}
                </button>
                <button type="button" className="btn" onClick={() => setConfirming(false)}>
                  {t("common.cancel")}
                </button>
              </div>
            </div>
          )}
        </div>
      </div>
    </section>
  );
}
