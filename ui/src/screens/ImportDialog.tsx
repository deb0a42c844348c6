// Import partners (or, for managers, reps) from an Excel workbook or a CSV
// file: pick it, see what Rust read (format, rows ready, every problem with
// its row, column, value and reason), then import. While the file has
// problems nothing can be imported; the person fixes the file and picks it
// again. Partners are imported all or nothing (rows the server refuses come
// back in the same table); reps are added one per row through the team API,
// each row with its result (the rep's activation code, or why not).
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type { ImportPreview, ImportRow, ImportRowError, IssuedCode } from "../bindings";
import { LIMITS } from "../bindings/Limits";
import { Dialog } from "../components/Dialog";
import { useToast } from "../components/Toast";
import { formatPhone } from "../format";
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

/** What adding one rep of the file did. */
type RepResult = { row: ImportRow; issued: IssuedCode | null; error: ApiError | null };

function RepResults({ results }: { results: readonly RepResult[] }) {
  const { t } = useTranslation();
  return (
    <table className="table" data-testid="import-rep-results">
      <thead>
        <tr>
          <th className="num">{t("import.col.row")}</th>
          <th>{t("import.column.name")}</th>
          <th>{t("import.column.phone")}</th>
          <th>{t("import.result")}</th>
        </tr>
      </thead>
      <tbody>
        {results.map(({ row, issued, error }) => (
          <tr key={row.row} data-testid="import-rep-result" data-ok={issued ? "1" : "0"}>
            <td className="num">{row.row}</td>
            <td>{row.name}</td>
            <td>{formatPhone(row.phone)}</td>
            <td className={issued ? "ok-text" : "bad-text"}>
              {issued
                ? t("import.repAdded", { code: issued.activation_code })
                : error?.code === "conflict"
                  ? t("import.repTaken")
                  : t("import.repFailed", { message: error?.message ?? "" })}
            </td>
          </tr>
        ))}
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
  const [repResults, setRepResults] = useState<RepResult[] | null>(null);
  const reps = kind === "reps";

  const pick = async (file: File | undefined) => {
    if (!file) return;
    setFileName(file.name);
    setPreview(null);
    setRefused(null);
    setRepResults(null);
    setError(null);
    if (file.size > LIMITS.maxImportBytes) {
      // Not even read: Rust would refuse it the same way.
      setPreview({ encoding: null, file_error: "too_large", total_rows: 0, valid: [], errors: [] });
      return;
    }
    setReading(true);
    try {
      setPreview(await api.previewPartnerImport(await fileToBase64(file)));
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setReading(false);
    }
  };

  const ready = preview?.valid.length ?? 0;
  const problems = preview?.errors.length ?? 0;
  const canImport =
    preview !== null &&
    preview.file_error === null &&
    problems === 0 &&
    ready > 0 &&
    !refused &&
    !repResults;

  // What stands in the way: the file's problems, or the server's refusals.
  const blocking = refused?.length ?? problems;
  // The button says so: all or nothing.
  const confirmLabel = () => {
    if (importing && reps) {
      return t("import.repsProgress", { done: (repResults?.length ?? 0) + 1, count: ready });
    }
    if (importing) return t("import.importing", { count: ready });
    if (!preview || preview.file_error || ready === 0 || repResults) {
      return t(reps ? "import.repsConfirmIdle" : "import.confirmIdle");
    }
    if (blocking > 0) return t("import.fixFirst", { count: blocking });
    return t(reps ? "import.repsConfirm" : "import.confirm", { count: ready });
  };

  /** One rep per row, in the file's order; a refused row does not stop the rest. */
  const importReps = async (rows: readonly ImportRow[]) => {
    const results: RepResult[] = [];
    setRepResults([]);
    for (const row of rows) {
      try {
        const issued = await api.addTeamMember({ role: "rep", name: row.name, phone: row.phone });
        results.push({ row, issued, error: null });
      } catch (e) {
        results.push({ row, issued: null, error: e as ApiError });
      }
      setRepResults([...results]);
    }
    const added = results.filter((r) => r.issued).length;
    toast(t("import.repsDone", { added, failed: results.length - added }));
    if (added > 0) onImported();
  };

  const doImport = async () => {
    if (!preview || !canImport) return;
    if (reps) {
      setImporting(true);
      setError(null);
      try {
        await importReps(preview.valid);
      } finally {
        setImporting(false);
      }
      return;
    }
    setImporting(true);
    setError(null);
    try {
      const result = await api.importPartners(preview.valid);
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

  return (
    <Dialog
      title={t(reps ? "import.repsTitle" : "import.title")}
      onClose={onClose}
      busy={importing}
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
                <ErrorTable errors={preview.errors} />
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
            {repResults && repResults.length > 0 && (
              <>
                <h3>{t("import.repsResultsTitle")}</h3>
                <RepResults results={repResults} />
              </>
            )}
            {ready > 0 && !repResults && (
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
                    {preview.valid.slice(0, MAX_READY_SHOWN).map((r) => (
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
        <div className="dialog-actions">
          <button type="button" className="btn" onClick={onClose} disabled={importing}>
            {repResults && !importing ? t("common.close") : t("common.cancel")}
          </button>
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
        </div>
      </div>
    </Dialog>
  );
}
