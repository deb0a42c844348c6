// 当面邀请: a full-screen QR over the whole window (sidebar included), big
// enough to scan from a metre away, with the rep's name, the company and the
// short code to type when scanning fails. It makes a single-use invitation
// on this computer when it opens (signed offline, so no network is needed:
// the phone joins over its own network) and asks every 2 s whether someone
// joined (the server, once it has recorded the invitation); when one did, it
// says who and shows a fresh invitation. The QR is drawn by the Rust side
// (`qr_png`, the same code as the posters' QR).
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import { CompanyLogo } from "../components/CompanyLogo";
import type { Invitation, Session } from "../bindings";
import { formatWhen } from "../format";
import { useNow } from "../hooks";
import { invitationStatusAt, isUnsynced } from "../invite";

const POLL_MS = 2000;
/** How long "王五 已加入" stays up. */
const JOINED_MS = 5000;
/** Face to face: the person is in front of the rep; a day is plenty. */
const QR_HOURS = 24;
/** An unused invitation is shown again only with at least this long to live. */
const REUSE_MIN_MS = 60 * 60 * 1000;

/** Who accepted invitation `id`: the newest partners carry their invitation. */
async function whoJoined(id: number): Promise<string | null> {
  try {
    await api.syncNow();
  } catch {
    // The name is a nicety; the join itself already happened on the server.
  }
  try {
    const page = await api.partners({ search: null, filter: "new", after: null, limit: 50 });
    return page.partners.find((p) => p.partner.invitation_id === id)?.partner.name ?? null;
  } catch {
    return null;
  }
}

/** Worth showing again: still pending on the server, unused, and not about to expire. */
async function reusableQr(): Promise<Invitation | null> {
  try {
    const now = Date.now();
    const local = (await api.invitations(50)).find(
      (i) => i.channel === "qr" && i.max_uses === 1 && i.uses === 0 && i.expires_at_ms - now > REUSE_MIN_MS,
    );
    if (!local) return null;
    const fresh = await api.invitation(local.id);
    return fresh.uses === 0 && invitationStatusAt(fresh, now) === "pending" ? fresh : null;
  } catch {
    return null;
  }
}

export function QrOverlay({
  session,
  offline,
  onClose,
}: {
  session: Session;
  offline: boolean;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const now = useNow(10_000);
  const [inv, setInv] = useState<Invitation | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [joined, setJoined] = useState<{ name: string | null } | null>(null);
  // Bumped to create a fresh invitation (after a join or expiry).
  const [generation, setGeneration] = useState(0);
  const closeRef = useRef<HTMLButtonElement>(null);
  const overlayRef = useRef<HTMLDivElement>(null);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    closeRef.current?.focus();
    return () => before?.focus();
  }, []);

  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key === "Escape") onClose();
      // Tab stays on the overlay's own buttons (the window behind is covered).
      if (e.key === "Tab") {
        const own = [...(overlayRef.current?.querySelectorAll<HTMLElement>("button") ?? [])];
        if (own.length === 0) return;
        const i = own.indexOf(document.activeElement as HTMLElement);
        e.preventDefault();
        const next = e.shiftKey ? (i <= 0 ? own.length - 1 : i - 1) : (i + 1) % own.length;
        own[next]?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  // A single-use invitation for each generation: on opening, the one an
  // earlier opening left unused (so opening and closing the overlay does not
  // pile up pending invitations and water down the QR conversion), else a new one.
  useEffect(() => {
    let live = true;
    (generation === 0 ? reusableQr() : Promise.resolve(null))
      .then((reused) =>
        reused ?? api.createInvitation({ channel: "qr", multi_use: false, expires_in_hours: QR_HOURS }),
      )
      .then(async (created) => {
        const url = `data:image/png;base64,${await api.qrPng(created.url)}`;
        if (!live) return;
        setInv(created);
        setQr(url);
        setError(null);
      })
      .catch((e: unknown) => live && setError(e as ApiError));
    return () => {
      live = false;
    };
  }, [generation]);

  // Poll: someone joined (uses went up) or it ran out -> a fresh one.
  useEffect(() => {
    if (!inv) return;
    let live = true;
    const id = setInterval(() => {
      api
        .invitation(inv.id)
        .then(async (fresh) => {
          if (!live) return;
          setError(null);
          if (fresh.uses > inv.uses) {
            clearInterval(id);
            // The next person should not wait for the name lookup.
            setJoined({ name: null });
            setGeneration((g) => g + 1);
            const name = await whoJoined(fresh.id);
            if (mounted.current && name) setJoined({ name });
          } else if (invitationStatusAt(fresh, Date.now()) !== "pending") {
            clearInterval(id);
            setGeneration((g) => g + 1);
          }
        })
        .catch((e: unknown) => live && setError(e as ApiError));
    }, POLL_MS);
    return () => {
      live = false;
      clearInterval(id);
    };
  }, [inv]);

  useEffect(() => {
    if (!joined) return;
    const id = setTimeout(() => setJoined(null), JOINED_MS);
    return () => clearTimeout(id);
  }, [joined]);

  const cannotReach = offline || error?.code === "offline";
  const joinUrl = `${session.public_base_url.replace(/\/+$/, "")}/j`;

  return (
    <div
      ref={overlayRef}
      className="qr-overlay"
      role="dialog"
      aria-modal="true"
      aria-label={t("invite.qr.title")}
      data-testid="invite-qr-overlay"
    >
      <button
        ref={closeRef}
        type="button"
        className="btn qr-close"
        onClick={onClose}
        data-testid="invite-qr-close"
      >
        {t("invite.qr.close")}
      </button>
      <div className="qr-head">
        <CompanyLogo company={session.company} className="brand-mark logo" />
        <div>
          <div className="qr-company">{session.company.name}</div>
          <div className="qr-inviter">{t("invite.qr.inviter", { name: session.user.name })}</div>
        </div>
      </div>
      {joined && (
        <div className="qr-joined" role="status" data-testid="invite-qr-joined">
          {joined.name ? t("invite.qr.joined", { name: joined.name }) : t("invite.qr.joinedAnon")}
        </div>
      )}
      {cannotReach && (
        <div className="note qr-offline" role="status" data-testid="invite-qr-offline">
          <span>{t("invite.qr.offline")}</span>
        </div>
      )}
      {error && error.code !== "offline" && (
        <div className="error" role="alert">
          <span>{t("error.generic", { message: error.message })}</span>
          {!inv && (
            <button type="button" className="btn" onClick={() => setGeneration((g) => g + 1)}>
              {t("common.retry")}
            </button>
          )}
        </div>
      )}
      {inv && qr ? (
        <>
          <img
            className="qr-big"
            src={qr}
            alt={t("invite.qr.alt", { url: inv.url })}
            data-testid="invite-qr-image"
            data-url={inv.url}
            data-invitation-id={inv.id}
          />
          <div className="qr-code" data-testid="invite-short-code" aria-label={t("invite.qr.codeLabel")}>
            {inv.short_code}
          </div>
          <div className="qr-type">{t("invite.qr.typeCode", { url: joinUrl })}</div>
          {isUnsynced(inv) && (
            <div className="hint" data-testid="invite-qr-unsynced">
              {t("invite.qr.codeLater")}
            </div>
          )}
          <div className="hint">
            {t("invite.qr.expires", { when: formatWhen(inv.expires_at_ms, now, t, true) })}
          </div>
        </>
      ) : (
        !error && <div className="qr-big qr-wait">{t("invite.qr.creating")}</div>
      )}
    </div>
  );
}
