// Sign in: server address + activation code. Errors are explained per code.
// After the company switched this account (or this device) off, the app
// signed itself out and wiped the company's data; this screen says so and
// whom to ask.
import { useEffect, useState, type FormEvent } from "react";
import { Trans, useTranslation } from "react-i18next";

import { api, toApiError, type ErrorCode } from "../api";
import type { LinkActivation, Session, SignedOut } from "../bindings";
import { Dialog } from "../components/Dialog";
import { LIMITS } from "../bindings/Limits";

const EXPLAINED = new Set([
  "invalid_input",
  "bad_server_address",
  "unauthorized",
  "not_found",
  "offline",
  "forbidden",
  "rate_limited",
  "conflict",
  "account_disabled",
  "device_revoked",
]);

/** An error as this screen explains it: the app's codes, and a pasted
 * activation link that was cut short or changed. */
type SignInError = { code: ErrorCode | "bad_link"; message: string };

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

/** A warmlead://activate link asks first: it names the host it really
 * reaches, and nothing is signed in before Continue. */
function ConfirmLink({
  link,
  busy,
  onCancel,
  onContinue,
}: {
  link: LinkActivation;
  busy: boolean;
  onCancel: () => void;
  onContinue: () => void;
}) {
  const { t } = useTranslation();
  return (
    <Dialog title={t("signin.link.title")} onClose={onCancel} busy={busy} testId="link-confirm">
      <p>
        <Trans
          i18nKey="signin.link.body"
          values={{ host: link.host }}
          components={{ host: <strong className="link-host" data-testid="link-confirm-host" /> }}
        />
      </p>
      <p className="hint" data-testid="link-confirm-url">
        {t("signin.link.address", { url: link.server_url })}
      </p>
      <p className="hint">{t("signin.link.warning")}</p>
      <div className="dialog-actions">
        <button type="button" className="btn" data-testid="link-confirm-cancel" disabled={busy} onClick={onCancel}>
          {t("common.cancel")}
        </button>
        <button
          type="button"
          className="btn btn-primary"
          data-testid="link-confirm-continue"
          disabled={busy}
          onClick={onContinue}
        >
          {busy && <span className="spinner" aria-hidden="true" />}
          {busy ? t("signin.activating") : t("signin.link.continue")}
        </button>
      </div>
    </Dialog>
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
  const [error, setError] = useState<SignInError | null>(null);
  // A warmlead://activate link waiting for the person's answer.
  const [link, setLink] = useState<LinkActivation | null>(null);

  useEffect(() => {
    let live = true;
    let stop: (() => void) | undefined;
    api.pendingLink().then((l) => live && l && setLink(l), () => undefined);
    void api
      .onDeepLinkPending((l) => setLink(l))
      .then((u) => (live ? (stop = u) : u()));
    return () => {
      live = false;
      stop?.();
    };
  }, []);

  const cancelLink = () => {
    setLink(null);
    void api.cancelLink().catch(() => undefined);
  };
  const continueLink = async () => {
    if (!link) return;
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api.confirmLink(link.server_url));
    } catch (err) {
      setLink(null);
      setServer(link.server_url);
      setError(toApiError(err));
      setBusy(false);
    }
  };

  // A whole warmlead://activate link pasted into either field fills both at
  // once (Rust reads it with the deep-link parser), so the server it names
  // shows before anything is sent. Typing one key at a time is left alone
  // until Activate: a half-typed link is not a link yet.
  const pasted = (nextServer: string, nextCode: string) => {
    void api.readSignIn(nextServer, nextCode).then(
      (fields) => {
        if (!fields.from_link) return;
        setServer(fields.server_url);
        setCode(fields.code);
        setError(null);
      },
      () => undefined,
    );
  };
  const changeServer = (next: string) => {
    setServer(next);
    if (next.length - server.length > 1) pasted(next, code);
  };
  const changeCode = (next: string) => {
    setCode(next);
    if (next.length - code.length > 1) pasted(server, next);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!server.trim() && !code.trim()) {
      setError({ code: "invalid_input", message: "" });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      let fields;
      try {
        fields = await api.readSignIn(server, code);
      } catch (err) {
        const e = toApiError(err);
        if (e.code === "invalid_input") {
          // Only a cut or altered link is invalid input here.
          setError({ code: "bad_link", message: e.message });
        } else if (e.code === "bad_server_address" && !server.trim()) {
          setError({ code: "invalid_input", message: "" });
        } else {
          setError(e);
        }
        return;
      }
      // What will be used, shown before it is sent: the address in full
      // (with the scheme the rule chose), the link's server and code.
      setServer(fields.server_url);
      setCode(fields.code);
      if (!fields.code) {
        setError({ code: "invalid_input", message: "" });
        return;
      }
      onSignedIn(await api.activate(fields.server_url, fields.code));
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  const message = error
    ? EXPLAINED.has(error.code) || error.code === "bad_link"
      ? t(`signin.error.${error.code}`, { minutes: LIMITS.activationWindowSecs / 60 })
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
            type="text"
            inputMode="url"
            spellCheck={false}
            autoCapitalize="off"
            autoComplete="url"
            placeholder={t("signin.serverHint")}
            value={server}
            onChange={(e) => changeServer(e.target.value)}
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
            onChange={(e) => changeCode(e.target.value)}
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
      {link && <ConfirmLink link={link} busy={busy} onCancel={cancelLink} onContinue={() => void continueLink()} />}
    </main>
  );
}
