// Import partners (or, for managers, reps) from an Excel workbook or a CSV
// file: pick it, see what Rust read (format, rows ready, every problem with
// its row, column, value and reason) and what the server would refuse (a
// dry run of the import: phones already in the company), then import.
// While there are problems nothing can be imported; the person fixes the
// file and picks it again. Both imports are all or nothing (rows the server
// refuses at the last moment come back in the same table). Imported reps
// are listed with their activation codes, which can be saved as CSV or all
// sent by SMS, with progress and each row's result.
import { useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type { ImportPreview, ImportRowError, TeamImportAdded } from "../bindings";
import { LIMITS } from "../bindings/Limits";
import { Dialog } from "../components/Dialog";
import { useToast } from "../components/Toast";
import { formatPhone } from "../format";
import { smsError } from "../team";
import {
  fileToBase64,
  importColumnText,
  importFileErrorText,
  importReasonText,
} from "../partners";

/** How many problems and ready rows the tables show. */
const MAX_ERRORS_SHOWN = 200;
const MAX_READY_SHOWN = 50;

function ErrorTable({ errors }: { errors: readonly ImportRowError[] }) {
  const { t } = useTranslation();
  const shown = errors.slice(0, MAX_ERRORS_SHOWN);
  return (
    <>
      <table className="table" data-testid="import-errors">
        <thead>
          <tr>
            <th className="num">{t("import.col.row")}</th>
            <th>{t("import.col.column")}</th>
            <th>{t("import.col.value")}</th>
            <th>{t("import.col.reason")}</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e, i) => (
            <tr key={`${e.row}-${e.reason}-${i}`} data-testid="import-error-row" data-reason={e.reason}>
              <td className="num">{e.row}</td>
              <td>{importColumnText(e.column, t)}</td>
              <td className="value">{e.column === "phone" ? formatPhone(e.value) : e.value}</td>
              <td>{importReasonText(e, t)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {errors.length > shown.length && (
        <p className="hint">{t("import.moreErrors", { count: errors.length - shown.length })}</p>
      )}
    </>
  );
}

/** What sending one imported rep's code by SMS did. */
type SmsState = { sending: true } | { sent: true } | { error: ApiError };

/** The reps the import added, each with their code and, once sent, the SMS's result. */
function RepResults({
  added,
  sms,
}: {
  added: readonly TeamImportAdded[];
  sms: ReadonlyMap<number, SmsState>;
}) {
  const { t } = useTranslation();
  return (
    <table className="table" data-testid="import-rep-results">
      <thead>
        <tr>
          <th className="num">{t("import.col.row")}</th>
          <th>{t("import.column.name")}</th>
          <th>{t("import.column.phone")}</th>
          <th>{t("import.col_code")}</th>
          <th>{t("import.col_sms")}</th>
        </tr>
      </thead>
      <tbody>
        {added.map(({ row, issued }) => {
          const state = sms.get(row);
          return (
            <tr
              key={row}
              data-testid="import-rep-result"
              data-sms={state === undefined ? "" : "sent" in state ? "sent" : "error" in state ? "error" : "sending"}
            >
              <td className="num">{row}</td>
              <td>{issued.user.name}</td>
              <td>{formatPhone(issued.user.phone ?? "")}</td>
              <td className="value code-cell">{issued.activation_code}</td>
              <td>
                {state === undefined ? (
                  ""
                ) : "sent" in state ? (
                  <span className="ok-text">{t("import.smsRowSent")}</span>
                ) : "error" in state ? (
                  <span className="bad-text">
                    {t("import.smsRowFailed", { reason: smsError(state.error, t) })}
                  </span>
                ) : (
                  <span className="muted">{t("import.smsRowSending")}</span>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function ImportDialog({
  kind = "partners",
  onClose,
  onImported,
}: {
  /** Partners (a rep's, all or nothing) or reps (a manager's, one per row). */
  kind?: "partners" | "reps";
  onClose: () => void;
  onImported: () => void;
}) {
  const { t } = useTranslation();
  const toast = useToast();
  const [fileName, setFileName] = useState<string | null>(null);
  const [preview, setPreview] = useState<ImportPreview | null>(null);
  const [reading, setReading] = useState(false);
  const [importing, setImporting] = useState(false);
  const [refused, setRefused] = useState<ImportRowError[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [added, setAdded] = useState<TeamImportAdded[] | null>(null);
  // What the server's dry run would refuse (phones already in the company).
  const [serverProblems, setServerProblems] = useState<ImportRowError[]>([]);
  const [checking, setChecking] = useState(false);
  const [checkError, setCheckError] = useState<ApiError | null>(null);
  const [sms, setSms] = useState<ReadonlyMap<number, SmsState>>(new Map());
  const [sendingAll, setSendingAll] = useState(false);
  const [smsDone, setSmsDone] = useState(0);
  const [exporting, setExporting] = useState(false);
  const reps = kind === "reps";
  // A file picked again while the last one is read or checked: only the
  // newest answer counts.
  const picks = useRef(0);

  const pick = async (file: File | undefined) => {
    if (!file) return;
    const pickNo = ++picks.current;
    setFileName(file.name);
    setPreview(null);
    setRefused(null);
    setAdded(null);
    setServerProblems([]);
    setCheckError(null);
    setSms(new Map());
    setError(null);
    if (file.size > LIMITS.maxImportBytes) {
      // Not even read: Rust would refuse it the same way.
      setPreview({ encoding: null, file_error: "too_large", total_rows: 0, valid: [], errors: [] });
      return;
    }
    setReading(true);
    let read: ImportPreview;
    try {
      read = await api.previewPartnerImport(await fileToBase64(file));
      if (pickNo !== picks.current) return;
      setPreview(read);
    } catch (e) {
      if (pickNo === picks.current) setError(e as ApiError);
      return;
    } finally {
      if (pickNo === picks.current) setReading(false);
    }
    if (read.file_error !== null || read.valid.length === 0) return;
    // The server is the judge of what it would refuse: a dry run of the
    // same import, so a phone already in the company is a problem now.
    setChecking(true);
    try {
      const found = reps
        ? (await api.importTeam(read.valid, true)).errors
        : (await api.importPartners(read.valid, true)).errors;
      if (pickNo === picks.current) setServerProblems(found);
    } catch (e) {
      // Offline or the like: the import checks again and answers the same.
      if (pickNo === picks.current) setCheckError(e as ApiError);
    } finally {
      if (pickNo === picks.current) setChecking(false);
    }
  };

  // Rows the file and the server both accept.
  const serverBad = new Set(serverProblems.map((e) => e.row));
  const readyRows = (preview?.valid ?? []).filter((r) => !serverBad.has(r.row));
  const ready = readyRows.length;
  // The file's problems and the server's, in row order.
  const allProblems = [...(preview?.errors ?? []), ...serverProblems].sort((a, b) => a.row - b.row);
  const problems = allProblems.length;
  const canImport =
    preview !== null &&
    preview.file_error === null &&
    problems === 0 &&
    ready > 0 &&
    !checking &&
    !refused &&
    !added;

  // What stands in the way: the file's problems, or the server's refusals.
  const blocking = refused?.length ?? problems;
  // The button says so: all or nothing.
  const confirmLabel = () => {
    if (importing) return t(reps ? "import.repsImporting" : "import.importing", { count: ready });
    if (!preview || preview.file_error || ready === 0 || added) {
      return t(reps ? "import.repsConfirmIdle" : "import.confirmIdle");
    }
    if (blocking > 0) return t("import.fixFirst", { count: blocking });
    return t(reps ? "import.repsConfirm" : "import.confirm", { count: ready });
  };

  const doImport = async () => {
    if (!preview || !canImport) return;
    setImporting(true);
    setError(null);
    try {
      if (reps) {
        const result = await api.importTeam(preview.valid, false);
        if (result.errors.length > 0) {
          setRefused(result.errors);
        } else {
          setAdded(result.added);
          toast(t("import.repsAdded", { count: result.added.length }));
          onImported();
        }
        return;
      }
      const result = await api.importPartners(preview.valid, false);
      if (result.errors.length > 0) {
        setRefused(result.errors);
      } else {
        toast(t("import.done", { count: result.imported }));
        onImported();
        onClose();
      }
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setImporting(false);
    }
  };

  /** Every added rep's code by SMS, one after the other; a refusal does not
   * stop the rest, each row says what happened. Sent rows are not sent again. */
  const sendAll = async () => {
    if (!added) return;
    setSendingAll(true);
    setSmsDone(0);
    const states = new Map(sms);
    let sent = 0;
    let failed = 0;
    for (const [i, { row, issued }] of added.entries()) {
      const before = states.get(row);
      if (before && "sent" in before) {
        sent += 1;
        setSmsDone(i + 1);
        continue;
      }
      states.set(row, { sending: true });
      setSms(new Map(states));
      try {
        await api.smsActivationCode(issued.user.id, issued.activation_code);
        states.set(row, { sent: true });
        sent += 1;
      } catch (e) {
        states.set(row, { error: e as ApiError });
        failed += 1;
      }
      setSms(new Map(states));
      setSmsDone(i + 1);
    }
    setSendingAll(false);
    toast(t("import.smsDone", { sent, failed }));
  };

  const exportCsv = async () => {
    if (!added) return;
    setExporting(true);
    try {
      const date = new Date().toISOString().slice(0, 10);
      const path = await api.exportCodesCsv(
        t("import.codesFile", { date }),
        added.map((a) => a.issued),
      );
      if (path) toast(t("import.exported", { path }));
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setExporting(false);
    }
  };

  return (
    <Dialog
      title={t(reps ? "import.repsTitle" : "import.title")}
      onClose={onClose}
      busy={importing || sendingAll}
      wide
      testId="import-dialog"
    >
      <div className="stack">
        <p className="hint">{t(reps ? "import.repsIntro" : "import.intro")}</p>
        <label className="file-pick">
          <span className="btn">{t("import.pick")}</span>
          <input
            type="file"
            accept=".xlsx,.xls,.csv,.txt,text/csv,text/plain,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,application/vnd.ms-excel"
            className="sr-only"
            data-testid="import-file"
            disabled={importing}
            onChange={(e) => {
              void pick(e.target.files?.[0]);
              e.target.value = "";
            }}
          />
          <span className="muted">{fileName ?? t("import.noFile")}</span>
        </label>
        {reading && <p className="hint" aria-live="polite">{t("import.reading")}</p>}
        {checking && (
          <p className="hint" aria-live="polite" data-testid="import-checking">
            {t("import.checking")}
          </p>
        )}
        {checkError && (
          <div className="note" role="status">
            {t("import.checkFailed", { message: checkError.message })}
          </div>
        )}
        {error && (
          <div className="error" role="alert">
            {t("error.generic", { message: error.message })}
          </div>
        )}
        {preview && (
          <>
            <p className="import-summary" data-testid="import-summary">
              <span>
                {t("import.encoding", { encoding: t(`import.enc.${preview.encoding ?? "unknown"}`) })}
              </span>
              {preview.file_error === null && (
                <>
                  <span className="ok-text">{t("import.ready", { count: ready })}</span>
                  <span className={blocking > 0 ? "bad-text" : "muted"}>
                    {t("import.problems", { count: blocking })}
                  </span>
                </>
              )}
            </p>
            {preview.file_error && (
              <div className="error" role="alert" data-testid="import-file-error">
                {importFileErrorText(preview.file_error, t)}
              </div>
            )}
            {problems > 0 && (
              <>
                <div className="note">{t("import.allOrNothing")}</div>
                <h3>{t("import.errorsTitle")}</h3>
                <ErrorTable errors={allProblems} />
              </>
            )}
            {refused && (
              <>
                <div className="error" role="alert">
                  {t("import.refused")}
                </div>
                <ErrorTable errors={refused} />
              </>
            )}
            {added && (
              <>
                <h3>{t("import.repsAdded", { count: added.length })}</h3>
                <div className="detail-actions">
                  <button
                    type="button"
                    className="btn"
                    disabled={exporting}
                    aria-busy={exporting}
                    onClick={() => void exportCsv()}
                    data-testid="import-export-codes"
                  >
                    {t("import.exportCsv")}
                  </button>
                  <button
                    type="button"
                    className="btn"
                    disabled={sendingAll}
                    aria-busy={sendingAll}
                    onClick={() => void sendAll()}
                    data-testid="import-sms-all"
                  >
                    {sendingAll && <span className="spinner" aria-hidden="true" />}
                    {sendingAll
                      ? t("import.smsProgress", { done: smsDone + 1, count: added.length })
                      : t("import.smsAll")}
                  </button>
                </div>
                <RepResults added={added} sms={sms} />
              </>
            )}
            {ready > 0 && !added && (
              <>
                <h3>{t("import.readyTitle", { count: Math.min(ready, MAX_READY_SHOWN) })}</h3>
                <table className="table" data-testid="import-ready">
                  <thead>
                    <tr>
                      <th className="num">{t("import.col.row")}</th>
                      <th>{t("import.column.name")}</th>
                      <th>{t("import.column.phone")}</th>
                      {!reps && <th>{t("import.column.note")}</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {readyRows.slice(0, MAX_READY_SHOWN).map((r) => (
                      <tr key={r.row}>
                        <td className="num">{r.row}</td>
                        <td>{r.name}</td>
                        <td>{formatPhone(r.phone)}</td>
                        {!reps && <td className="value">{r.note ?? ""}</td>}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </>
        )}
        {preview && !added && ready > 0 && problems === 0 && preview.file_error === null && (
          <p className="hint">{t("import.allOrNothingHint")}</p>
        )}
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose} disabled={importing || sendingAll}>
            {added && !importing ? t("common.close") : t("common.cancel")}
          </button>
          {!added && (
            <button
              type="button"
              className="btn btn-primary"
              disabled={!canImport || importing}
              aria-busy={importing}
              onClick={() => void doImport()}
              data-testid="import-confirm"
            >
              {importing && <span className="spinner" aria-hidden="true" />}
              {confirmLabel()}
            </button>
          )}
        </div>
      </div>
    </Dialog>
  );
}
