// 短信邀请: type or paste "姓名 手机" lines (or pick a CSV), see who will get
// it, preview what the rules do for each number (send now, queue for the
// end of quiet hours, refuse and why) and the exact text, then send.
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type { SmsInviteItem, SmsRecipient } from "../bindings";
import { Dialog } from "../components/Dialog";
import { useToast } from "../components/Toast";
import { formatPhone } from "../format";
import { useNow } from "../hooks";
import {
  MAX_SMS_RECIPIENTS,
  parseRecipients,
  sampleText,
  smsPlanText,
  withoutLine,
} from "../invite";
import { fileToBase64 } from "../partners";

type Result = { items: SmsInviteItem[]; sent: boolean };

export function SmsDialog({ offline, onClose, onSent }: { offline: boolean; onClose: () => void; onSent: () => void }) {
  const { t } = useTranslation();
  const toast = useToast();
  const now = useNow();
  const [text, setText] = useState("");
  const [fromCsv, setFromCsv] = useState<SmsRecipient[]>([]);
  const [csvNote, setCsvNote] = useState<string | null>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [busy, setBusy] = useState<"preview" | "send" | "csv" | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const parsed = useMemo(() => parseRecipients(text), [text]);
  const recipients = useMemo(() => [...parsed.recipients, ...fromCsv], [parsed, fromCsv]);
  const tooMany = recipients.length > MAX_SMS_RECIPIENTS;
  const willSend = result && !result.sent ? result.items.filter((i) => i.plan.plan !== "refuse").length : 0;

  // Any change to the recipients makes the preview stale.
  const edit = (f: () => void) => {
    f();
    setResult(null);
    setError(null);
  };

  const pickCsv = async (file: File | undefined) => {
    if (!file) return;
    setBusy("csv");
    setError(null);
    try {
      const p = await api.previewPartnerImport(await fileToBase64(file));
      if (p.file_error) {
        setCsvNote(t(`import.fileError.${p.file_error}`));
        return;
      }
      edit(() => setFromCsv((r) => [...r, ...p.valid.map((v) => ({ name: v.name, phone: v.phone }))]));
      const skipped = new Set(p.errors.map((e) => e.row)).size;
      setCsvNote(t("invite.sms.csvAdded", { count: p.valid.length, skipped }));
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(null);
    }
  };

  const run = async (dryRun: boolean) => {
    setBusy(dryRun ? "preview" : "send");
    setError(null);
    try {
      const r = await api.smsInvite({ recipients, dry_run: dryRun });
      setResult({ items: r.items, sent: !dryRun });
      if (!dryRun) {
        const n = r.items.filter((i) => i.sms_id !== null).length;
        toast(t("invite.sms.sent", { count: n }));
        onSent();
      }
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(null);
    }
  };

  const sample = result ? sampleText(result.items) : null;

  return (
    <Dialog title={t("invite.sms.title")} onClose={onClose} busy={busy === "send"} wide testId="sms-dialog">
      <div className="stack">
        <p className="hint">{t("invite.sms.rules")}</p>
        {offline && <div className="note">{t("invite.offline")}</div>}
        <div className="field">
          <label htmlFor="sms-recipients">{t("invite.sms.recipientsLabel")}</label>
          <textarea
            id="sms-recipients"
            className="input textarea"
            rows={5}
            placeholder={t("invite.sms.placeholder")}
            value={text}
            onChange={(e) => edit(() => setText(e.target.value))}
            data-testid="sms-recipients"
          />
          <div className="row-actions">
            <label className="file-pick">
              <span className="btn">{t("invite.sms.fromCsv")}</span>
              <input
                type="file"
                accept=".csv,.txt,text/csv,text/plain"
                className="sr-only"
                data-testid="sms-csv"
                onChange={(e) => {
                  void pickCsv(e.target.files?.[0]);
                  e.target.value = "";
                }}
              />
            </label>
            {csvNote && <span className="hint">{csvNote}</span>}
          </div>
        </div>
        {parsed.bad.length > 0 && (
          <div className="note bad-text" data-testid="sms-bad-lines">
            {t("invite.sms.badLines", {
              count: parsed.bad.length,
              lines: parsed.bad.map((b) => b.line).join(", "),
            })}
          </div>
        )}
        <h3>{t("invite.sms.recipients", { count: recipients.length })}</h3>
        {recipients.length === 0 ? (
          <p className="muted">{t("invite.sms.none")}</p>
        ) : (
          <ul className="recipients" data-testid="sms-recipient-list">
            {parsed.recipients.map((r, i) => (
              <li key={`t${parsed.lines[i]}`} data-testid="sms-recipient">
                <span>{r.name}</span>
                <span className="muted">{r.phone}</span>
                <button
                  type="button"
                  className="btn btn-quiet btn-x"
                  aria-label={t("invite.sms.remove", { name: r.name })}
                  onClick={() => edit(() => setText((s) => withoutLine(s, parsed.lines[i] ?? 0)))}
                >
                  ×
                </button>
              </li>
            ))}
            {fromCsv.map((r, i) => (
              <li key={`c${i}`} data-testid="sms-recipient">
                <span>{r.name}</span>
                <span className="muted">{formatPhone(r.phone)}</span>
                <button
                  type="button"
                  className="btn btn-quiet btn-x"
                  aria-label={t("invite.sms.remove", { name: r.name })}
                  onClick={() => edit(() => setFromCsv((rs) => rs.filter((_, j) => j !== i)))}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
        {tooMany && (
          <div className="error" role="alert">
            {t("invite.sms.tooMany", { max: MAX_SMS_RECIPIENTS })}
          </div>
        )}
        {error && (
          <div className="error" role="alert" data-testid="sms-error">
            {error.code === "offline" ? t("invite.offline") : t("error.generic", { message: error.message })}
          </div>
        )}
        {result && (
          <>
            <h3>{result.sent ? t("invite.sms.resultTitle") : t("invite.sms.planTitle")}</h3>
            <table className="table" data-testid="sms-plan">
              <tbody>
                {result.items.map((it, i) => (
                  <tr key={`${it.phone}-${i}`} data-testid="sms-plan-row" data-plan={it.plan.plan}>
                    <td>{it.name}</td>
                    <td>{it.phone_e164 ? formatPhone(it.phone_e164) : it.phone}</td>
                    <td className={`plan-${it.plan.plan}`}>{smsPlanText(it, now, t)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {sample && (
              <>
                <h3>{t("invite.sms.message")}</h3>
                <div className="message-box sms-text" data-testid="sms-text">
                  {sample}
                </div>
                <p className="hint">{t("invite.sms.linkNote")}</p>
              </>
            )}
          </>
        )}
        <div className="dialog-actions">
          <button
            type="button"
            className="btn"
            disabled={recipients.length === 0 || tooMany || busy !== null || result?.sent === true}
            aria-busy={busy === "preview"}
            onClick={() => void run(true)}
            data-testid="sms-preview"
          >
            {busy === "preview" ? t("invite.sms.previewing") : t("invite.sms.preview")}
          </button>
          {result?.sent ? (
            <button type="button" className="btn btn-primary" onClick={onClose} data-testid="sms-done">
              {t("invite.sms.done")}
            </button>
          ) : (
            <button
              type="button"
              className="btn btn-primary"
              disabled={willSend === 0 || busy !== null}
              aria-busy={busy === "send"}
              onClick={() => void run(false)}
              data-testid="sms-send"
            >
              {busy === "send" && <span className="spinner" aria-hidden="true" />}
              {busy === "send"
                ? t("invite.sms.sending")
                : willSend > 0
                  ? t("invite.sms.send", { count: willSend })
                  : t("invite.sms.sendAfterPreview")}
            </button>
          )}
        </div>
      </div>
    </Dialog>
  );
}
