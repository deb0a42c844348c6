// Sign in: server address + activation code. Errors are explained per code.
// After the company switched this account (or this device) off, the app
// signed itself out and wiped the company's data; this screen says so and
// whom to ask.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type { Session, SignedOut } from "../bindings";

const EXPLAINED = new Set([
  "invalid_input",
  "unauthorized",
  "not_found",
  "offline",
  "forbidden",
  "rate_limited",
  "conflict",
  "account_disabled",
  "device_revoked",
]);

/** Why the app signed out, and whom to ask: a partner their rep, others a manager. */
function SwitchedOffNotice({ notice }: { notice: SignedOut }) {
  const { t } = useTranslation();
  const who = notice.role === "partner" ? "rep" : "manager";
  return (
    <div className="note" role="alert" data-testid="signin-switched-off" data-code={notice.code}>
      <strong>{t(`signin.switchedOff.${notice.code === "device_revoked" ? "device" : "account"}`)}</strong>
      <p>{t(`signin.switchedOff.ask.${who}`, { company: notice.company_name })}</p>
      <p className="hint">{t("signin.switchedOff.wiped")}</p>
    </div>
  );
}

export function SignIn({
  onSignedIn,
  signedOut = null,
}: {
  onSignedIn: (s: Session) => void;
  signedOut?: SignedOut | null;
}) {
  const { t } = useTranslation();
  const [server, setServer] = useState("");
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!server.trim() || !code.trim()) {
      setError({ code: "invalid_input", message: "" });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api.activate(server.trim(), code.trim()));
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };

  const message = error
    ? EXPLAINED.has(error.code)
      ? t(`signin.error.${error.code}`)
      : t("signin.error.other", { message: error.message })
    : null;

  return (
    <main className="signin">
      <form onSubmit={submit} noValidate aria-busy={busy}>
        <span className="brand-mark logo" aria-hidden="true">
          暖
        </span>
        <h1>{t("signin.title")}</h1>
        <p className="hint">{t("signin.subtitle")}</p>
        {signedOut && <SwitchedOffNotice notice={signedOut} />}
        <div className="field">
          <label htmlFor="signin-server">{t("signin.server")}</label>
          <input
            id="signin-server"
            className="input"
            data-testid="signin-server"
            type="url"
            inputMode="url"
            autoComplete="url"
            placeholder={t("signin.serverHint")}
            value={server}
            onChange={(e) => setServer(e.target.value)}
            disabled={busy}
            autoFocus
          />
        </div>
        <div className="field">
          <label htmlFor="signin-code">{t("signin.code")}</label>
          <input
            id="signin-code"
            className="input"
            data-testid="signin-code"
            autoComplete="one-time-code"
            autoCapitalize="characters"
            spellCheck={false}
            placeholder={t("signin.codeHint")}
            value={code}
            onChange={(e) => setCode(e.target.value)}
            disabled={busy}
          />
        </div>
        {message && (
          <div className="error" role="alert" data-testid="signin-error" data-code={error?.code}>
            {message}
          </div>
        )}
        <button
          type="submit"
          className="btn btn-primary btn-lg"
          data-testid="signin-submit"
          disabled={busy}
        >
          {busy && <span className="spinner" aria-hidden="true" />}
          {busy ? t("signin.activating") : t("signin.submit")}
        </button>
      </form>
    </main>
  );
}
