// 团队 (managers): the company's people with partners, leads, shares this
// month and last seen, searchable by name or phone; the detail pane shows
// devices (revoke one), a fresh activation code with its link and QR, the
// person's open codes with their age, and switching someone off (asks
// once, says what happens to their partners and leads). Adding a rep is the
// main action. The rules are the server's (`warmlead_core::team`); this
// screen only offers them and shows the answer.
//
// Open codes shown again or sent again: the server keeps codes only hashed,
// so this app keeps the codes it issued (and those an import returned) in
// its local cache while they are open (src-tauri/src/team.rs). A code made
// on another device cannot be shown here: its row says so and offers a new
// code instead, which retires the old one.
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type { IssuedCode, KnownCode, OpenCode, Role, Session, TeamMember } from "../bindings";
import { LIMITS } from "../bindings/Limits";
import { Dialog } from "../components/Dialog";
import { EmptyState } from "../components/EmptyState";
import { useToast } from "../components/Toast";
import { daysSince, formatCount, formatPhone, formatWhen } from "../format";
import { useNow, useSyncTick } from "../hooks";
import { matchesTeamSearch, smsError } from "../team";
import { ImportDialog } from "./ImportDialog";

type RoleFilter = "rep" | "manager" | "partner";
const FILTERS: readonly RoleFilter[] = ["rep", "manager", "partner"];

/** "3 天前生成": how old an open code is, in calendar days. */
function codeAge(createdMs: number, now: number, t: (key: string, o?: Record<string, unknown>) => string): string {
  const days = daysSince(createdMs, now);
  if (days <= 0) return t("team.codeAge.today");
  if (days === 1) return t("team.codeAge.yesterday");
  return t("team.codeAge.ago", { count: days });
}

/** The start of this month in the user's time zone, as UTC ms. */
function monthStart(now: number): number {
  const d = new Date(now);
  return new Date(d.getFullYear(), d.getMonth(), 1).getTime();
}

/** When any of the person's devices last reached the server. */
function lastSeen(m: TeamMember): number | null {
  const seen = m.devices.map((d) => d.last_seen_at_ms).filter((s): s is number => s !== null);
  return seen.length ? Math.max(...seen) : null;
}

/** The code, the sign-in link and the link's QR (drawn by the Rust side),
 * and the code sent by SMS to the person's phone. */
function CodeCard({ issued }: { issued: IssuedCode }) {
  const { t } = useTranslation();
  const toast = useToast();
  const [qr, setQr] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const [smsSent, setSmsSent] = useState<string | null>(null);
  const [smsErr, setSmsErr] = useState<ApiError | null>(null);
  const sendSms = async () => {
    setSending(true);
    setSmsErr(null);
    try {
      const sent = await api.smsActivationCode(issued.user.id, issued.activation_code);
      setSmsSent(sent.phone);
    } catch (e) {
      setSmsErr(e as ApiError);
    } finally {
      setSending(false);
    }
  };
  useEffect(() => {
    let live = true;
    api.qrPng(issued.activation_link).then(
      (png) => live && setQr(png),
      () => live && setQr(null),
    );
    return () => {
      live = false;
    };
  }, [issued.activation_link]);
  const copy = async (text: string) => {
    try {
      await api.copyText(text);
      toast(t("team.copied"));
    } catch (e) {
      toast(t("error.generic", { message: (e as ApiError).message }));
    }
  };
  return (
    <div className="card-box" data-testid="team-code">
      <h2>{t("team.codeFor", { name: issued.user.name })}</h2>
      <p className="hint">{t("team.codeHint")}</p>
      <div className="code-big" data-testid="team-code-value">
        {issued.activation_code}
      </div>
      {/* The QR's place is kept while it is drawn, so the buttons below do
          not jump under a pointer on their way to them. */}
      {qr ? (
        <img
          className="qr-img"
          src={`data:image/png;base64,${qr}`}
          alt={t("team.qrAlt")}
          width={200}
          height={200}
          data-testid="team-code-qr"
        />
      ) : (
        <div className="qr-img" style={{ width: 200, height: 200 }} aria-hidden="true" />
      )}
      <div className="detail-actions">
        <button type="button" className="btn" onClick={() => void copy(issued.activation_code)}>
          {t("team.copyCode")}
        </button>
        <button type="button" className="btn" onClick={() => void copy(issued.activation_link)}>
          {t("team.copyLink")}
        </button>
        {issued.user.phone && (
          <button
            type="button"
            className="btn"
            disabled={sending}
            aria-busy={sending}
            onClick={() => void sendSms()}
            data-testid="team-code-sms"
          >
            {sending && <span className="spinner" aria-hidden="true" />}
            {t("team.sendSms", { phone: formatPhone(issued.user.phone) })}
          </button>
        )}
      </div>
      {smsSent && (
        <p className="ok-text" role="status" data-testid="team-code-sms-sent">
          {t("team.smsSent", { phone: formatPhone(smsSent) })}
        </p>
      )}
      {smsErr && (
        <div className="error" role="alert" data-testid="team-code-sms-error">
          {smsError(smsErr, t)}
        </div>
      )}
    </div>
  );
}

/** What to fix, in the UI's language; the server's words in brackets. */
function addError(e: ApiError, t: (key: string, o?: Record<string, unknown>) => string): string {
  switch (e.code) {
    case "invalid_input":
      return t("team.addInvalid", { message: e.message });
    case "conflict":
      return t("team.addTaken");
    default:
      return t("error.generic", { message: e.message });
  }
}

/** Add a rep (or a manager): name and phone; the answer is their code. */
function AddDialog({
  onClose,
  onAdded,
}: {
  onClose: () => void;
  onAdded: (issued: IssuedCode) => void;
}) {
  const { t } = useTranslation();
  const [name, setName] = useState("");
  const [phone, setPhone] = useState("");
  const [role, setRole] = useState<Role>("rep");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onAdded(await api.addTeamMember({ role, name: name.trim(), phone: phone.trim() }));
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={t("team.addTitle")} onClose={onClose} busy={busy} testId="team-add-dialog">
      <form className="dialog-body form-grid" onSubmit={(e) => void submit(e)}>
        <label>
          {t("team.name")}
          <input
            className="input"
            value={name}
            maxLength={LIMITS.maxNameChars}
            onChange={(e) => setName(e.target.value)}
            required
            data-testid="team-add-name"
          />
        </label>
        <label>
          {t("team.phone")}
          <input
            className="input"
            value={phone}
            maxLength={LIMITS.maxPhoneChars}
            inputMode="tel"
            placeholder="138 0013 8000"
            onChange={(e) => setPhone(e.target.value)}
            required
            data-testid="team-add-phone"
          />
        </label>
        <fieldset className="chips" aria-label={t("team.role")}>
          {(["rep", "manager"] as const).map((r) => (
            <button
              key={r}
              type="button"
              className="chip"
              aria-pressed={role === r}
              onClick={() => setRole(r)}
            >
              {t(`team.roleName.${r}`)}
            </button>
          ))}
        </fieldset>
        {error && (
          <div className="error" role="alert" data-testid="team-add-error">
            {addError(error, t)}
          </div>
        )}
        <div className="detail-actions">
          <button
            type="submit"
            className="btn btn-primary"
            disabled={busy || !name.trim() || !phone.trim()}
            data-testid="team-add-submit"
          >
            {busy ? t("team.adding") : t("team.add")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** One open code: its age and expiry; shown again or sent again by SMS
 * when this app issued it, else a new code in its place; revoke asks once. */
function OpenCodeRow({
  member: m,
  code: c,
  known,
  now,
  busy,
  onShow,
  onReplace,
  onRevoke,
}: {
  member: TeamMember;
  code: OpenCode;
  known: KnownCode | undefined;
  now: number;
  busy: boolean;
  onShow: (k: KnownCode) => void;
  onReplace: () => void;
  onRevoke: (c: OpenCode) => void;
}) {
  const { t } = useTranslation();
  const [sending, setSending] = useState(false);
  const [sent, setSent] = useState<string | null>(null);
  const [smsErr, setSmsErr] = useState<ApiError | null>(null);
  const resend = async (k: KnownCode) => {
    setSending(true);
    setSent(null);
    setSmsErr(null);
    try {
      setSent((await api.smsActivationCode(m.user.id, k.activation_code)).phone);
    } catch (e) {
      setSmsErr(e as ApiError);
    } finally {
      setSending(false);
    }
  };
  return (
    <li className="device-row code-row" data-testid="team-open-code" data-known={known ? "1" : "0"}>
      <span className="row-main">
        <span className="row-title" data-testid="team-code-age">
          {codeAge(c.created_at_ms, now, t)}
        </span>
        <span className="row-sub">
          {t("team.codeExpiresAt", { when: formatWhen(c.expires_at_ms, now, t, true) })}
        </span>
        {!known && (
          <span className="row-note" data-testid="team-code-elsewhere">
            {t("team.codeElsewhere")}
          </span>
        )}
        {sent && (
          <span className="ok-text" role="status" data-testid="team-code-resend-sent">
            {t("team.smsSent", { phone: formatPhone(sent) })}
          </span>
        )}
        {smsErr && (
          <span className="bad-text" role="alert" data-testid="team-code-resend-error">
            {smsError(smsErr, t)}
          </span>
        )}
      </span>
      <span className="row-actions">
        {known ? (
          <>
            <button
              type="button"
              className="btn btn-quiet"
              disabled={busy}
              onClick={() => onShow(known)}
              data-testid="team-code-show"
            >
              {t("team.showCode")}
            </button>
            {m.user.phone && (
              <button
                type="button"
                className="btn btn-quiet"
                disabled={busy || sending}
                aria-busy={sending}
                onClick={() => void resend(known)}
                data-testid="team-code-resend"
              >
                {sending && <span className="spinner" aria-hidden="true" />}
                {t("team.resendSms")}
              </button>
            )}
          </>
        ) : (
          <button
            type="button"
            className="btn btn-quiet"
            disabled={busy || m.deactivated_at_ms !== null}
            onClick={onReplace}
            data-testid="team-code-replace"
          >
            {t("team.replaceCode")}
          </button>
        )}
        <button
          type="button"
          className="btn btn-quiet"
          disabled={busy}
          onClick={() => onRevoke(c)}
          data-testid="team-code-revoke"
        >
          {t("team.revokeCode")}
        </button>
      </span>
    </li>
  );
}

/** The person's open activation codes (at most one: a new code retires the
 * older), each with its age and what can be done with it. */
function OpenCodes({
  member: m,
  known,
  now,
  busy,
  onShow,
  onReplace,
  onRevoke,
}: {
  member: TeamMember;
  known: ReadonlyMap<number, KnownCode>;
  now: number;
  busy: boolean;
  onShow: (k: KnownCode) => void;
  onReplace: () => void;
  onRevoke: (code: OpenCode) => Promise<void>;
}) {
  const { t } = useTranslation();
  const [confirm, setConfirm] = useState<OpenCode | null>(null);
  return (
    <>
      <h3>{t("team.openCodes")}</h3>
      {m.open_codes.length === 0 ? (
        <p className="hint" data-testid="team-no-open-codes">
          {t("team.noOpenCodes")}
        </p>
      ) : (
        <ul className="device-list" data-testid="team-open-codes">
          {m.open_codes.map((c) => (
            <OpenCodeRow
              key={c.id}
              member={m}
              code={c}
              known={known.get(c.id)}
              now={now}
              busy={busy}
              onShow={onShow}
              onReplace={onReplace}
              onRevoke={setConfirm}
            />
          ))}
        </ul>
      )}
      {confirm && (
        <Dialog
          title={t("team.revokeCodeTitle", { name: m.user.name })}
          onClose={() => setConfirm(null)}
          busy={busy}
          testId="team-code-revoke-dialog"
        >
          <div className="dialog-body">
            <p>{t("team.revokeCodeBody")}</p>
            <div className="detail-actions">
              <button
                type="button"
                className="btn btn-danger"
                disabled={busy}
                onClick={() => void onRevoke(confirm).then(() => setConfirm(null))}
                data-testid="team-code-revoke-confirm"
              >
                {t("team.revokeCode")}
              </button>
              <button type="button" className="btn" onClick={() => setConfirm(null)}>
                {t("team.cancel")}
              </button>
            </div>
          </div>
        </Dialog>
      )}
    </>
  );
}

/** The chosen person: status, devices, a fresh code, switch off or on. */
function MemberPane({
  member: m,
  known,
  self,
  now,
  onChanged,
  onReload,
}: {
  member: TeamMember;
  /** Open codes this app issued, by code id. */
  known: ReadonlyMap<number, KnownCode>;
  self: number;
  now: number;
  onChanged: (m: TeamMember) => void;
  /** Fetch the team again (a new code retired the older ones). */
  onReload: () => void;
}) {
  const { t } = useTranslation();
  const [issued, setIssued] = useState<IssuedCode | null>(null);
  const [confirmOff, setConfirmOff] = useState(false);
  const [confirmOn, setConfirmOn] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const act = async (f: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const switchOn = (reopen: boolean) =>
    void act(async () => {
      onChanged(await api.setMemberActive(m.user.id, true, reopen));
      setConfirmOn(false);
    });
  const off = m.deactivated_at_ms !== null;
  const canSwitch = m.user.role !== "manager" && m.user.id !== self;
  const newCode = () =>
    void act(async () => {
      setIssued(await api.issueActivationCode(m.user.id));
      onReload();
    });
  return (
    <div className="detail" data-testid="team-detail">
      <h2>{m.user.name}</h2>
      <p className="summary">
        {t(`team.roleName.${m.user.role}`)}
        {m.user.phone ? ` · ${formatPhone(m.user.phone)}` : ""}
        {off && (
          <span className="stage-badge stage-churned" data-testid="team-off-badge">
            {t("team.off")}
          </span>
        )}
      </p>
      {error && (
        <div className="error" role="alert">
          {error.message}
        </div>
      )}
      <div className="detail-actions">
        <button
          type="button"
          className="btn"
          disabled={busy || off}
          onClick={newCode}
          data-testid="team-issue-code"
        >
          {t("team.newCode")}
        </button>
        {canSwitch &&
          (off ? (
            <button
              type="button"
              className="btn"
              disabled={busy}
              onClick={() => {
                // A rep's switch-off closed their invitations: the manager
                // chooses whether they reopen. Partners have none.
                if (m.user.role === "rep") setConfirmOn(true);
                else switchOn(false);
              }}
              data-testid="team-switch-on"
            >
              {t("team.switchOn")}
            </button>
          ) : (
            <button
              type="button"
              className="btn btn-danger"
              disabled={busy}
              onClick={() => setConfirmOff(true)}
              data-testid="team-switch-off"
            >
              {t("team.switchOff")}
            </button>
          ))}
      </div>
      {issued && <CodeCard issued={issued} />}
      <OpenCodes
        member={m}
        known={known}
        now={now}
        busy={busy}
        onShow={(k) =>
          setIssued({
            user: m.user,
            code_id: k.code_id,
            activation_code: k.activation_code,
            activation_link: k.activation_link,
          })
        }
        onReplace={newCode}
        onRevoke={(c) =>
          act(async () => {
            onChanged(await api.revokeActivationCode(m.user.id, c.id));
            // The card must not go on showing a code that no longer signs in.
            if (issued?.code_id === c.id) setIssued(null);
          })
        }
      />
      <h3>{t("team.devices")}</h3>
      {m.devices.length === 0 ? (
        <p className="hint">{t("team.noDevices")}</p>
      ) : (
        <ul className="device-list" data-testid="team-devices">
          {m.devices.map((d) => (
            <li key={d.id} className="device-row">
              <span className="row-main">
                <span className="row-title">{d.name}</span>
                <span className="row-sub">
                  {d.revoked_at_ms !== null
                    ? t("team.revokedAt", { when: formatWhen(d.revoked_at_ms, now, t, true) })
                    : d.last_seen_at_ms !== null
                      ? t("team.seenAt", { when: formatWhen(d.last_seen_at_ms, now, t, true) })
                      : t("team.neverSeen")}
                </span>
              </span>
              {d.revoked_at_ms === null && (
                <button
                  type="button"
                  className="btn btn-quiet"
                  disabled={busy}
                  onClick={() => void act(async () => onChanged(await api.revokeDevice(d.id)))}
                  data-testid="team-revoke"
                >
                  {t("team.revoke")}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {confirmOff && (
        <Dialog title={t("team.switchOffTitle", { name: m.user.name })} onClose={() => setConfirmOff(false)} busy={busy}>
          <div className="dialog-body">
            <p>{t(m.user.role === "rep" ? "team.switchOffRep" : "team.switchOffPartner")}</p>
            <div className="detail-actions">
              <button
                type="button"
                className="btn btn-danger"
                disabled={busy}
                onClick={() =>
                  void act(async () => {
                    onChanged(await api.setMemberActive(m.user.id, false, false));
                    // Codes of a switched-off account do not sign in: hide it.
                    setIssued(null);
                    setConfirmOff(false);
                  })
                }
                data-testid="team-switch-off-confirm"
              >
                {t("team.switchOff")}
              </button>
              <button type="button" className="btn" onClick={() => setConfirmOff(false)}>
                {t("team.cancel")}
              </button>
            </div>
          </div>
        </Dialog>
      )}
      {confirmOn && (
        <Dialog
          title={t("team.switchOnTitle", { name: m.user.name })}
          onClose={() => setConfirmOn(false)}
          busy={busy}
          testId="team-switch-on-dialog"
        >
          <div className="dialog-body">
            <p>{t("team.switchOnInvitations")}</p>
            <div className="detail-actions">
              <button
                type="button"
                className="btn btn-primary"
                disabled={busy}
                onClick={() => switchOn(false)}
                data-testid="team-switch-on-keep-closed"
              >
                {t("team.switchOnKeepClosed")}
              </button>
              <button
                type="button"
                className="btn"
                disabled={busy}
                onClick={() => switchOn(true)}
                data-testid="team-switch-on-reopen"
              >
                {t("team.switchOnReopen")}
              </button>
              <button type="button" className="btn" onClick={() => setConfirmOn(false)}>
                {t("team.cancel")}
              </button>
            </div>
          </div>
        </Dialog>
      )}
    </div>
  );
}

export function Team({ session }: { session: Session }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const now = useNow();
  const tick = useSyncTick();
  const [members, setMembers] = useState<TeamMember[] | null>(null);
  const [known, setKnown] = useState<ReadonlyMap<number, KnownCode>>(new Map());
  const [search, setSearch] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [filter, setFilter] = useState<RoleFilter>("rep");
  const [selected, setSelected] = useState<number | null>(null);
  const [adding, setAdding] = useState(false);
  const [importing, setImporting] = useState(false);
  const [added, setAdded] = useState<IssuedCode | null>(null);

  const [reload, setReload] = useState(0);
  useEffect(() => {
    let live = true;
    api
      .team(monthStart(Date.now()))
      .then((screen) => {
        if (!live) return;
        setMembers(screen.members);
        setKnown(new Map(screen.known_codes.map((k) => [k.code_id, k])));
        setError(null);
      })
      .catch((e: ApiError) => live && setError(e));
    return () => {
      live = false;
    };
  }, [tick, reload]);

  const shown = useMemo(
    () => (members ?? []).filter((m) => m.user.role === filter && matchesTeamSearch(m, search)),
    [members, filter, search],
  );
  // The detail belongs to the list it was picked from: another tab, or a
  // search that hides the person, clears it.
  const pickFilter = (f: RoleFilter) => {
    setFilter(f);
    if (f !== filter) {
      setSelected(null);
      setAdded(null);
    }
  };
  const current = shown.find((m) => m.user.id === selected) ?? null;
  const replace = (m: TeamMember) =>
    setMembers((all) => (all ?? []).map((x) => (x.user.id === m.user.id ? m : x)));

  return (
    <section className="main" aria-labelledby="team-title">
      <header className="section-head">
        <h1 id="team-title">{t("team.title")}</h1>
        <input
          type="search"
          className="input search"
          placeholder={t("team.search")}
          aria-label={t("team.search")}
          value={search}
          onChange={(e) => setSearch(e.target.value)}
          data-testid="team-search"
        />
        <span className="grow" />
        <button
          type="button"
          className="btn"
          onClick={() => setImporting(true)}
          data-testid="team-import"
        >
          {t("team.importReps")}
        </button>
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => setAdding(true)}
          data-testid="team-add"
        >
          {t("team.addRep")}
        </button>
      </header>
      <div className="toolbar lead-filters">
        <div className="chips" role="group" aria-label={t("team.filters")}>
          {FILTERS.map((f) => (
            <button
              key={f}
              type="button"
              className="chip"
              aria-pressed={filter === f}
              onClick={() => pickFilter(f)}
              data-testid={`team-filter-${f}`}
            >
              {t(`team.filter.${f}`)}
              <span className="chip-count">
                {formatCount((members ?? []).filter((m) => m.user.role === f).length, lang)}
              </span>
            </button>
          ))}
        </div>
      </div>
      <div className="split">
        <div className="list-pane">
          {error && (
            <div className="error" role="alert">
              {t("error.generic", { message: error.message })}
            </div>
          )}
          {members && shown.length === 0 && search.trim() !== "" ? (
            <EmptyState
              title={t("team.noMatch", { query: search.trim() })}
              body={t("team.noMatchBody")}
              testId="team-no-match"
            />
          ) : members && shown.length === 0 ? (
            <EmptyState
              title={t(`team.empty.${filter}`)}
              body={t(`team.emptyBody.${filter}`)}
              testId="team-empty"
            />
          ) : (
            <ul className="team-list" aria-label={t("team.list")} data-testid="team-list">
              {shown.map((m) => {
                const seen = lastSeen(m);
                return (
                  <li key={m.user.id}>
                    <button
                      type="button"
                      className={`team-row${m.user.id === selected ? " selected" : ""}`}
                      aria-pressed={m.user.id === selected}
                      onClick={() => {
                        setSelected(m.user.id);
                        setAdded(null);
                      }}
                      data-testid="team-row"
                    >
                      <span className="row-main">
                        <span className="row-title">
                          <strong>{m.user.name}</strong>
                          {m.deactivated_at_ms !== null && (
                            <span className="stage-badge stage-churned">{t("team.off")}</span>
                          )}
                        </span>
                        <span className="row-sub">
                          {m.user.phone ? formatPhone(m.user.phone) : t("team.noPhone")} ·{" "}
                          {seen !== null
                            ? t("team.seenAt", { when: formatWhen(seen, now, t) })
                            : t("team.neverSeen")}
                        </span>
                      </span>
                      <span className="stats">
                        {m.user.role === "rep" && (
                          <span className="stat">
                            <b>{formatCount(m.partners, lang)}</b>
                            <small>{t("team.stat.partners")}</small>
                          </span>
                        )}
                        <span className="stat">
                          <b>{formatCount(m.leads, lang)}</b>
                          <small>{t("team.stat.leads")}</small>
                        </span>
                        <span className="stat">
                          <b>{formatCount(m.shares_since, lang)}</b>
                          <small>{t("team.stat.shares")}</small>
                        </span>
                        <span className="stat">
                          <b>{formatCount(m.devices.filter((d) => d.revoked_at_ms === null).length, lang)}</b>
                          <small>{t("team.stat.devices")}</small>
                        </span>
                      </span>
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
        </div>
        <aside className="detail-pane" aria-live="polite">
          {added && (
            <CodeCard issued={added} />
          )}
          {current ? (
            <MemberPane
              key={current.user.id}
              member={current}
              known={known}
              self={session.user.id}
              now={now}
              onChanged={replace}
              onReload={() => setReload((n) => n + 1)}
            />
          ) : (
            !added && <EmptyState title={t("team.pickTitle")} body={t("team.pickBody")} />
          )}
        </aside>
      </div>
      {importing && (
        <ImportDialog
          kind="reps"
          onClose={() => setImporting(false)}
          onImported={() => setReload((n) => n + 1)}
        />
      )}
      {adding && (
        <AddDialog
          onClose={() => setAdding(false)}
          onAdded={(issued) => {
            setAdding(false);
            setAdded(issued);
            setSelected(null);
            setReload((n) => n + 1);
          }}
        />
      )}
    </section>
  );
}
