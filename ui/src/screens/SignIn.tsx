// Sign in: server address + activation code. Errors are explained per code.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type { Session } from "../bindings";

const EXPLAINED = new Set([
  "invalid_input",
  "unauthorized",
  "not_found",
  "offline",
  "forbidden",
  "rate_limited",
  "conflict",
  "account_disabled",
]);

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
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
