// Import partners from a CSV file: pick it, see what Rust read (encoding,
// rows ready, every problem with its row, column, value and reason), then
// import all of it. All or nothing: while the file has problems nothing can
// be imported; the person fixes the file and picks it again. Rows the
// server refuses (e.g. already partners) come back in the same table.
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type { ImportPreview, ImportRowError } from "../bindings";
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

export function ImportDialog({
  onClose,
  onImported,
}: {
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

  const pick = async (file: File | undefined) => {
    if (!file) return;
    setFileName(file.name);
    setPreview(null);
    setRefused(null);
    setError(null);
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
    preview !== null && preview.file_error === null && problems === 0 && ready > 0 && !refused;

  // What stands in the way: the file's problems, or the server's refusals.
  const blocking = refused?.length ?? problems;
  // The button says so: all or nothing.
  const confirmLabel = () => {
    if (importing) return t("import.importing", { count: ready });
    if (!preview || preview.file_error || ready === 0) return t("import.confirmIdle");
    if (blocking > 0) return t("import.fixFirst", { count: blocking });
    return t("import.confirm", { count: ready });
  };

  const doImport = async () => {
    if (!preview || !canImport) return;
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
    <Dialog title={t("import.title")} onClose={onClose} busy={importing} wide testId="import-dialog">
      <div className="stack">
        <p className="hint">{t("import.intro")}</p>
        <label className="file-pick">
          <span className="btn">{t("import.pick")}</span>
          <input
            type="file"
            accept=".csv,.txt,text/csv,text/plain"
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
            {ready > 0 && (
              <>
                <h3>{t("import.readyTitle", { count: Math.min(ready, MAX_READY_SHOWN) })}</h3>
                <table className="table" data-testid="import-ready">
                  <thead>
                    <tr>
                      <th className="num">{t("import.col.row")}</th>
                      <th>{t("import.column.name")}</th>
                      <th>{t("import.column.phone")}</th>
                      <th>{t("import.column.note")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {preview.valid.slice(0, MAX_READY_SHOWN).map((r) => (
                      <tr key={r.row}>
                        <td className="num">{r.row}</td>
                        <td>{r.name}</td>
                        <td>{formatPhone(r.phone)}</td>
                        <td className="value">{r.note ?? ""}</td>
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
            {t("common.cancel")}
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
