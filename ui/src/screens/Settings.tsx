// 设置: language (remembered), the company profile (managers: name, logo,
// poster slogan, the invitation pages' commission line), the version and
// its updates, and
// sign-out, which asks once and warns when changes are still waiting to sync.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type {
  Company,
  MediaRef,
  MediaUsage,
  Session,
  SyncStatus,
  TokenPlace,
  UpdateStatus,
} from "../bindings";
import { formatAgo, formatBytes } from "../format";
import { useNow } from "../hooks";
import { LIMITS } from "../bindings/Limits";
import { currentLanguage, LANGUAGES, setLanguage, type Language } from "../i18n";

/** From this share of the quota on, the bar warns. */
const STORAGE_WARN = 0.9;

/** Managers: the room the company's media take on the server, of its quota
 *  (asked of the server each time the screen opens; needs the network). */
function MediaStorage() {
  const { t } = useTranslation();
  const [usage, setUsage] = useState<MediaUsage | null>(null);
  const [offline, setOffline] = useState(false);
  useEffect(() => {
    let live = true;
    api
      .mediaUsage()
      .then((u) => live && setUsage(u))
      .catch(() => live && setOffline(true));
    return () => {
      live = false;
    };
  }, []);
  const lang = currentLanguage();
  const share = usage && usage.quota_bytes > 0 ? Math.min(1, usage.used_bytes / usage.quota_bytes) : 0;
  return (
    <div className="card-box" data-testid="media-storage">
      <h2>{t("settings.storage")}</h2>
      {usage ? (
        <>
          <p data-testid="media-storage-used">
            {t("settings.storageUsed", {
              used: formatBytes(usage.used_bytes, lang),
              total: formatBytes(usage.quota_bytes, lang),
            })}
          </p>
          <progress
            className={share >= STORAGE_WARN ? "storage-bar storage-bar-full" : "storage-bar"}
            max={1}
            value={share}
            aria-label={t("settings.storage")}
          />
          {share >= STORAGE_WARN && (
            <p className="error" role="status">
              {t("settings.storageFull")}
            </p>
          )}
          <p className="hint">{t("settings.storageHint")}</p>
        </>
      ) : (
        offline && <p className="hint">{t("settings.storageOffline")}</p>
      )}
    </div>
  );
}

/** Same limit as the server's (core `MAX_POSTER_SLOGAN_CHARS`). */
const MAX_SLOGAN_CHARS = 40;
const LOGO_TYPES = ["image/png", "image/jpeg"];

/** A file's bytes as base64 (standard alphabet). */
async function base64Of(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Managers: the company's name, logo, poster slogan and the commission
 *  line of the invitation pages, saved together. */
function CompanyProfileEditor({ company }: { company: Company }) {
  const { t } = useTranslation();
  const [name, setName] = useState(company.name);
  const [logo, setLogo] = useState<MediaRef | null>(company.logo ?? null);
  const [logoPreview, setLogoPreview] = useState<string | null>(null);
  const [slogan, setSlogan] = useState(company.poster_slogan ?? "");
  const [promise, setPromise] = useState(company.commission_promise ?? "");
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const logoKb = Math.floor(LIMITS.maxLogoBytes / 1024);

  const edited = () => {
    setSaved(false);
    setError(null);
  };

  const pickLogo = async (file: File | undefined) => {
    if (!file) return;
    edited();
    if (!LOGO_TYPES.includes(file.type)) return setError(t("settings.logoBadType"));
    if (file.size > LIMITS.maxLogoBytes) return setError(t("settings.logoTooBig", { kb: logoKb }));
    setBusy(true);
    try {
      const b64 = await base64Of(file);
      setLogo(await api.uploadLogo(file.type, b64));
      setLogoPreview(`data:${file.type};base64,${b64}`);
    } catch (e) {
      setError(t("error.generic", { message: (e as ApiError).message }));
    } finally {
      setBusy(false);
    }
  };

  const save = async () => {
    setBusy(true);
    edited();
    const blankIsNull = (s: string) => (s.trim() === "" ? null : s);
    try {
      const c = await api.setCompanyProfile({
        name,
        logo_media_id: logo?.id ?? null,
        poster_slogan: blankIsNull(slogan),
        commission_promise: blankIsNull(promise),
      });
      setName(c.name);
      setSlogan(c.poster_slogan ?? "");
      setPromise(c.commission_promise ?? "");
      setSaved(true);
    } catch (e) {
      setError(t("error.generic", { message: (e as ApiError).message }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="card-box" data-testid="company-profile">
      <h2>{t("settings.profile")}</h2>
      <p className="hint">{t("settings.profileHint")}</p>
      <label className="field" htmlFor="company-name">
        <span>{t("settings.companyName")}</span>
        <input
          id="company-name"
          className="input"
          data-testid="company-name"
          maxLength={LIMITS.maxCompanyNameChars}
          value={name}
          onChange={(e) => {
            setName(e.target.value);
            edited();
          }}
        />
      </label>
      <div className="field">
        <span id="logo-label">{t("settings.logo")}</span>
        <div className="logo-row">
          {logoPreview ? (
            <img className="logo-preview" src={logoPreview} alt="" />
          ) : (
            <span className="logo-preview logo-initial" aria-hidden="true">
              {name.trim().charAt(0)}
            </span>
          )}
          <label className="btn">
            {t("settings.logoPick")}
            <input
              type="file"
              accept={LOGO_TYPES.join(",")}
              className="sr-only"
              data-testid="logo-file"
              aria-labelledby="logo-label"
              disabled={busy}
              onChange={(e) => void pickLogo(e.target.files?.[0])}
            />
          </label>
          {logo && (
            <button
              type="button"
              className="btn btn-quiet"
              onClick={() => {
                setLogo(null);
                setLogoPreview(null);
                edited();
              }}
            >
              {t("settings.logoRemove")}
            </button>
          )}
        </div>
        <p className="hint">{logo ? t("settings.logoHint", { kb: logoKb }) : t("settings.logoNone")}</p>
      </div>
      <label className="field" htmlFor="poster-slogan">
        <span>{t("settings.posterSlogan")}</span>
        <input
          id="poster-slogan"
          className="input"
          data-testid="poster-slogan"
          maxLength={MAX_SLOGAN_CHARS}
          value={slogan}
          placeholder={t("settings.posterSloganDefault")}
          onChange={(e) => {
            setSlogan(e.target.value);
            edited();
          }}
        />
      </label>
      <p className="hint">{t("settings.posterSloganHint", { max: MAX_SLOGAN_CHARS })}</p>
      <label className="field" htmlFor="commission-promise">
        <span>{t("settings.promise")}</span>
        <input
          id="commission-promise"
          className="input"
          data-testid="commission-promise"
          maxLength={LIMITS.maxCommissionPromiseChars}
          value={promise}
          placeholder={t("settings.promiseDefault")}
          onChange={(e) => {
            setPromise(e.target.value);
            edited();
          }}
        />
      </label>
      <p className="hint">{t("settings.promiseHint", { max: LIMITS.maxCommissionPromiseChars })}</p>
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
      {saved && <p role="status">{t("settings.profileSaved")}</p>}
      <button
        type="button"
        className="btn btn-primary"
        data-testid="company-profile-save"
        disabled={busy}
        onClick={() => void save()}
      >
        {t("common.save")}
      </button>
    </div>
  );
}

/** Where this computer keeps the device's sign-in token: the system
 *  keychain, or the fallback file where none runs. */
function TokenPlaceLine() {
  const { t } = useTranslation();
  const [place, setPlace] = useState<TokenPlace | null>(null);
  useEffect(() => {
    let live = true;
    api
      .tokenPlace()
      .then((p) => live && setPlace(p))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, []);
  if (!place) return null;
  return (
    <p className="hint" data-testid="token-place" data-place={place}>
      {t(`settings.tokenPlace.${place}`)}
    </p>
  );
}

const LANGUAGE_NAMES: Record<Language, string> = { "zh-CN": "中文", en: "English" };

/** The running version and the last answer of the company's server about newer ones. */
function UpdateCard({
  update,
  onUpdate,
}: {
  update: UpdateStatus | null;
  onUpdate: (s: UpdateStatus) => void;
}) {
  const { t } = useTranslation();
  const now = useNow();
  const [checking, setChecking] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  if (!update) return null;
  const state = !update.enabled
    ? "off"
    : update.refused != null
      ? "refused"
      : update.available
        ? "available"
        : update.checked_at_ms != null
          ? "up_to_date"
          : "not_checked";
  const check = async () => {
    setChecking(true);
    setError(null);
    try {
      onUpdate(await api.checkForUpdate());
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setChecking(false);
    }
  };
  return (
    <div className="card-box" data-testid="update-card">
      <h2>{t("update.title")}</h2>
      <p>{t("update.version", { version: update.current_version })}</p>
      <p className="hint" data-testid="update-state" data-state={state}>
        {state === "off" && t("update.off")}
        {state === "not_checked" && t("update.notChecked")}
        {state === "refused" && t("update.refused")}
        {state === "available" && t("update.newer", { version: update.available?.version })}
        {state === "up_to_date" &&
          t("update.upToDate", { when: formatAgo(update.checked_at_ms ?? now, now, t) })}
      </p>
      {error && (
        <div className="error" role="alert">
          {t("error.generic", { message: error.message })}
        </div>
      )}
      {update.enabled && (
        <div>
          <button
            type="button"
            className="btn"
            data-testid="update-check"
            disabled={checking}
            onClick={() => void check()}
          >
            {checking ? t("update.checking") : t("update.check")}
          </button>
        </div>
      )}
    </div>
  );
}

export function Settings({
  session,
  status,
  update,
  onUpdate,
  onSignedOut,
}: {
  session: Session;
  status: SyncStatus | null;
  update: UpdateStatus | null;
  onUpdate: (s: UpdateStatus) => void;
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
      // The app cleared the webview's data; the language is the person's.
      setLanguage(currentLanguage());
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
      {/* The pane scrolls, not the window: the sidebar stays put. */}
      <div className="page-scroll" data-testid="settings-scroll">
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
          {session.user.role === "manager" && <CompanyProfileEditor company={session.company} />}
          {session.user.role === "manager" && <MediaStorage />}
          <UpdateCard update={update} onUpdate={onUpdate} />
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
            <TokenPlaceLine />
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
      </div>
    </section>
  );
}
