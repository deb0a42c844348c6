// A modal dialog: backdrop, title with a close button, Tab kept inside,
// Escape closes (unless `busy`), focus returns to where it was.
import { useEffect, useRef, type KeyboardEvent, type ReactNode } from "react";
import { useTranslation } from "react-i18next";

const FOCUSABLE =
  "button:not([disabled]), input:not([disabled]), textarea:not([disabled]), select:not([disabled]), [tabindex='0']";

export function Dialog({
  title,
  onClose,
  busy = false,
  wide = false,
  testId,
  children,
}: {
  title: string;
  onClose: () => void;
  /** While a long action runs, Escape and the backdrop do not close. */
  busy?: boolean;
  wide?: boolean;
  testId?: string;
  children: ReactNode;
}) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    // The first field or enabled button of the body (the text box of the SMS
    // composer, the file picker of the import), else the close button.
    const body = ref.current?.querySelector(".dialog-body");
    const first =
      body?.querySelector<HTMLElement>("textarea:not([disabled]), input:not([disabled])") ??
      body?.querySelector<HTMLElement>("button:not([disabled])") ??
      ref.current?.querySelector<HTMLElement>(".dialog-head button");
    first?.focus();
    return () => before?.focus();
  }, []);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      if (!busy) onClose();
      return;
    }
    if (e.key !== "Tab") return;
    const focusable = [...e.currentTarget.querySelectorAll<HTMLElement>(FOCUSABLE)];
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last?.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first?.focus();
    }
  };

  return (
    <div
      className="backdrop"
      onMouseDown={(e) => e.target === e.currentTarget && !busy && onClose()}
    >
      <div
        ref={ref}
        className={wide ? "dialog wide" : "dialog"}
        role="dialog"
        aria-modal="true"
        aria-label={title}
        data-testid={testId}
        onKeyDown={onKeyDown}
      >
        <div className="dialog-head">
          <h2>{title}</h2>
          <button type="button" className="btn btn-quiet" onClick={onClose} disabled={busy}>
            {t("common.close")}
          </button>
        </div>
        <div className="dialog-body">{children}</div>
      </div>
    </div>
  );
}
