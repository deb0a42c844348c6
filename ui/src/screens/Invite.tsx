// 邀请: three ways to invite (face to face QR, SMS, poster) as big cards,
// then how each channel converts, the invitations with their status, and
// the SMS history with delivery status. Lists come from the local cache and
// refresh after every sync that brought changes.
import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type { Invitation, InviteChannel, InviteDashboard, Session, SmsRecord, SyncStatus } from "../bindings";
import { EmptyState } from "../components/EmptyState";
import { useToast } from "../components/Toast";
import { formatCount, formatPhone, formatWhen } from "../format";
import { useNow, useSyncTick } from "../hooks";
import { canRevoke, conversionRate, formatPercent, invitationStatusAt, isUnsynced, usesText } from "../invite";
import { PosterDialog } from "./PosterDialog";
import { QrOverlay } from "./QrOverlay";
import { SmsDialog } from "./SmsDialog";

const LIST_LIMIT = 200;
type Open = "qr" | "sms" | "poster" | null;

const CARD_ICONS: Record<InviteChannel, string> = {
  qr: "M3 3h6v6H3zM15 3h6v6h-6zM3 15h6v6H3zM13 13h2v2h-2zM17 13h4v2h-4zM13 17h2v4h-2zM17 17h2v2h-2zM19 19h2v2h-2z",
  sms: "M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H9l-5 4v-4H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1zM7 9h10M7 12h7",
  poster: "M5 2h14a1 1 0 0 1 1 1v18a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V3a1 1 0 0 1 1-1zM7 5h10v7H7zM7 15h6M7 18h4",
};

function Card({ channel, onOpen }: { channel: InviteChannel; onOpen: () => void }) {
  const { t } = useTranslation();
  return (
    <button type="button" className="invite-card" onClick={onOpen} data-testid={`invite-${channel}`}>
      <svg width="32" height="32" viewBox="0 0 24 24" aria-hidden="true">
        <path d={CARD_ICONS[channel]} fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinejoin="round" />
      </svg>
      <span className="invite-card-title">{t(`invite.${channel}.title`)}</span>
      <span className="invite-card-body">{t(`invite.${channel}.body`)}</span>
    </button>
  );
}

function Conversion({ dashboard }: { dashboard: InviteDashboard | null }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  if (!dashboard) return null;
  const any = dashboard.channels.some((c) => c.invitations > 0);
  return (
    <section className="panel" aria-labelledby="conv-title">
      <h2 id="conv-title">{t("invite.conversion.title")}</h2>
      {!any ? (
        <p className="muted">{t("invite.conversion.empty")}</p>
      ) : (
        <table className="table conversion">
          <thead>
            <tr>
              <th>{t("invite.conversion.channel")}</th>
              <th className="num">{t("invite.conversion.invitations")}</th>
              <th className="num">{t("invite.conversion.accepted")}</th>
              <th className="num">{t("invite.conversion.partners")}</th>
              <th>{t("invite.conversion.rate")}</th>
            </tr>
          </thead>
          <tbody>
            {dashboard.channels.map((c) => {
              const rate = conversionRate(c);
              return (
                <tr key={c.channel} data-testid="conversion-row" data-channel={c.channel}>
                  <td>{t(`invite.channel.${c.channel}`)}</td>
                  <td className="num">{formatCount(c.invitations, lang)}</td>
                  <td className="num">{formatCount(c.accepted, lang)}</td>
                  <td className="num">{formatCount(c.partners, lang)}</td>
                  <td>
                    <span className="bar" aria-hidden="true">
                      <span style={{ width: `${(rate ?? 0) * 100}%` }} />
                    </span>
                    <span className="num rate">{formatPercent(rate, lang)}</span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function InvitationRow({
  inv,
  now,
  onRevoked,
}: {
  inv: Invitation;
  now: number;
  onRevoked: (inv: Invitation) => void;
}) {
  const { t } = useTranslation();
  const toast = useToast();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const status = invitationStatusAt(inv, now);
  const recipient = inv.recipient_name
    ? inv.recipient_phone
      ? t("invite.list.recipientWithPhone", { name: inv.recipient_name, phone: formatPhone(inv.recipient_phone) })
      : inv.recipient_name
    : "—";

  const revoke = async () => {
    setBusy(true);
    try {
      onRevoked(await api.revokeInvitation(inv.id));
      toast(t("invite.list.revoked"));
    } catch (e) {
      toast(t("error.generic", { message: (e as ApiError).message }));
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  return (
    <tr data-testid="invitation-row" data-invitation-id={inv.id} data-status={status}>
      <td>{t(`invite.channel.${inv.channel}`)}</td>
      <td>
        <span className={`status-pill status-${status}`}>{t(`invite.status.${status}`)}</span>
        {isUnsynced(inv) && (
          <span className="muted small" title={t("invite.unsyncedHint")} data-testid="invitation-unsynced">
            {" "}
            {t("invite.unsynced")}
          </span>
        )}
      </td>
      <td className="num">{usesText(inv, t)}</td>
      <td className="mono">{inv.short_code}</td>
      <td>{recipient}</td>
      <td className="when">{formatWhen(inv.created_at_ms, now, t, true)}</td>
      <td className="when">{formatWhen(inv.expires_at_ms, now, t, true)}</td>
      <td className="actions">
        {canRevoke(inv, now) &&
          (confirming ? (
            <span className="confirm">
              <button
                type="button"
                className="btn btn-danger"
                disabled={busy}
                onClick={() => void revoke()}
                data-testid="invitation-revoke-confirm"
              >
                {t("invite.list.revokeYes")}
              </button>
              <button type="button" className="btn btn-quiet" disabled={busy} onClick={() => setConfirming(false)}>
                {t("common.cancel")}
              </button>
            </span>
          ) : (
            <button
              type="button"
              className="btn btn-quiet"
              onClick={() => setConfirming(true)}
              data-testid="invitation-revoke"
            >
              {t("invite.list.revoke")}
            </button>
          ))}
      </td>
    </tr>
  );
}

function SmsHistory({ records, now }: { records: SmsRecord[]; now: number }) {
  const { t } = useTranslation();
  return (
    <section className="panel" aria-labelledby="sms-history-title">
      <h2 id="sms-history-title">{t("invite.sms.historyTitle")}</h2>
      {records.length === 0 ? (
        <p className="muted">{t("invite.sms.historyEmpty")}</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>{t("invite.list.recipient")}</th>
              <th>{t("invite.sms.phone")}</th>
              <th>{t("invite.list.status")}</th>
              <th>{t("invite.list.created")}</th>
            </tr>
          </thead>
          <tbody>
            {records.map((r) => (
              <tr key={r.id} data-testid="sms-record-row" data-status={r.status} title={r.text}>
                <td>{r.name}</td>
                <td>{formatPhone(r.phone)}</td>
                <td>
                  <span className={`status-pill sms-${r.status}`}>{t(`invite.sms.status.${r.status}`)}</span>
                  {r.status === "queued" && r.send_after_ms !== null && (
                    <span className="muted small">
                      {" "}
                      {t("invite.sms.queuedUntil", { when: formatWhen(r.send_after_ms, now, t, true) })}
                    </span>
                  )}
                  {r.status === "failed" && r.error && (
                    <span className="bad-text small"> {t("invite.sms.failedWhy", { error: r.error })}</span>
                  )}
                </td>
                <td className="when">{formatWhen(r.created_at_ms, now, t, true)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function Invite({ session, status }: { session: Session; status: SyncStatus | null }) {
  const { t } = useTranslation();
  const now = useNow();
  const syncTick = useSyncTick();
  const [open, setOpen] = useState<Open>(null);
  const [dashboard, setDashboard] = useState<InviteDashboard | null>(null);
  const [invitations, setInvitations] = useState<Invitation[] | null>(null);
  const [records, setRecords] = useState<SmsRecord[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const [reload, setReload] = useState(0);
  const offline = status?.state === "offline";
  const refresh = `${syncTick}-${reload}-${status?.last_synced_at_ms ?? 0}`;

  useEffect(() => {
    let live = true;
    Promise.all([api.inviteDashboard(), api.invitations(LIST_LIMIT), api.smsRecords(LIST_LIMIT)])
      .then(([d, inv, sms]) => {
        if (!live) return;
        setDashboard(d);
        setInvitations(inv);
        setRecords(sms);
        setError(null);
      })
      .catch((e: ApiError) => live && setError(e));
    return () => {
      live = false;
    };
  }, [refresh]);

  const again = useCallback(() => setReload((n) => n + 1), []);
  const closeQr = useCallback(() => {
    setOpen(null);
    again();
  }, [again]);

  return (
    <section className="main" aria-labelledby="invite-title">
      <header className="section-head">
        <h1 id="invite-title">{t("invite.title")}</h1>
        <span className="sub">{t("invite.subtitle")}</span>
      </header>
      <div className="page-scroll">
        <div className="invite-cards">
          {(["qr", "sms", "poster"] as const).map((c) => (
            <Card key={c} channel={c} onOpen={() => setOpen(c)} />
          ))}
        </div>
        {offline && <div className="note">{t("invite.offline")}</div>}
        {error && (
          <div className="error" role="alert">
            {t("error.generic", { message: error.message })}
          </div>
        )}
        <Conversion dashboard={dashboard} />
        <section className="panel" aria-labelledby="inv-list-title">
          <h2 id="inv-list-title">{t("invite.list.title")}</h2>
          {invitations && invitations.length === 0 ? (
            <EmptyState title={t("invite.list.emptyTitle")} body={t("invite.list.emptyBody")} testId="invitation-empty" />
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th>{t("invite.list.channel")}</th>
                  <th>{t("invite.list.status")}</th>
                  <th className="num">{t("invite.list.uses")}</th>
                  <th>{t("invite.list.code")}</th>
                  <th>{t("invite.list.recipient")}</th>
                  <th>{t("invite.list.created")}</th>
                  <th>{t("invite.list.expires")}</th>
                  <th className="actions">
                    <span className="sr-only">{t("invite.list.actions")}</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {(invitations ?? []).map((inv) => (
                  <InvitationRow
                    key={inv.id}
                    inv={inv}
                    now={now}
                    onRevoked={(r) => {
                      setInvitations((list) => (list ?? []).map((x) => (x.id === r.id ? r : x)));
                      again();
                    }}
                  />
                ))}
              </tbody>
            </table>
          )}
        </section>
        <SmsHistory records={records} now={now} />
      </div>
      {open === "qr" && <QrOverlay session={session} offline={offline} onClose={closeQr} />}
      {open === "sms" && <SmsDialog offline={offline} onClose={() => setOpen(null)} onSent={again} />}
      {open === "poster" && <PosterDialog onClose={() => setOpen(null)} onCreated={again} />}
    </section>
  );
}
