// Share one item: pick a channel (朋友圈/群/私聊), then copy the tracked link
// with a suggested message, show/save its QR code, or make a poster of the
// item with that QR (saved as PNG or copied as an image). Works offline: the
// link is signed on this device and the poster is drawn here.
import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type { Channel, ContentItem, ShareResult } from "../bindings";
import { useToast } from "../components/Toast";

const CHANNELS: Channel[] = ["moments", "group", "direct"];
type Tab = "link" | "qr" | "poster";
const TABS: Tab[] = ["link", "qr", "poster"];
const TAB_LABELS: Record<Tab, string> = {
  link: "share.tabLink",
  qr: "share.tabQr",
  poster: "share.tabPoster",
};

/** Keeps Tab inside the dialog and closes it on Escape. */
function trapKeys(e: KeyboardEvent<HTMLDivElement>, onClose: () => void) {
  if (e.key === "Escape") {
    e.stopPropagation();
    onClose();
    return;
  }
  if (e.key !== "Tab") return;
  const focusable = [
    ...e.currentTarget.querySelectorAll<HTMLElement>("button:not([disabled]), [tabindex='0']"),
  ];
  const first = focusable[0];
  const last = focusable[focusable.length - 1];
  if (e.shiftKey && document.activeElement === first) {
    e.preventDefault();
    last?.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first?.focus();
  }
}

export function ShareDialog({
  item,
  offline,
  waiting,
  onClose,
}: {
  item: ContentItem;
  offline: boolean;
  /** Whether changes still wait to sync (so "not synced yet" stays true). */
  waiting: boolean;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const toast = useToast();
  const [channel, setChannel] = useState<Channel | null>(null);
  // One share per channel: picking a channel again reuses its link.
  const [results, setResults] = useState<Partial<Record<Channel, ShareResult>>>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [tab, setTab] = useState<Tab>("link");
  // One poster per channel's share, made when its tab is first opened.
  const [posters, setPosters] = useState<Partial<Record<Channel, string>>>({});
  const [posterBusy, setPosterBusy] = useState(false);
  const dialogRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    dialogRef.current?.querySelector<HTMLElement>(".channel")?.focus();
    return () => before?.focus();
  }, []);

  /** Draws the poster of channel `c`'s share once (on this device). */
  const makePoster = async (c: Channel, r: ShareResult) => {
    if (posters[c]) return;
    setPosterBusy(true);
    try {
      const png = await api.sharePoster(item.id, r.share.token);
      setPosters((ps) => ({ ...ps, [c]: png }));
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setPosterBusy(false);
    }
  };

  const openTab = (k: Tab) => {
    setTab(k);
    const r = channel ? results[channel] : undefined;
    if (k === "poster" && channel && r) void makePoster(channel, r);
  };

  const pick = async (c: Channel) => {
    setChannel(c);
    setError(null);
    const known = results[c];
    if (known) {
      if (tab === "poster") void makePoster(c, known);
      return;
    }
    setBusy(true);
    try {
      const r = await api.createShare(item.id, c);
      setResults((rs) => ({ ...rs, [c]: r }));
      if (tab === "poster") void makePoster(c, r);
    } catch (e) {
      setError(e as ApiError);
    } finally {
      setBusy(false);
    }
  };

  const result = channel ? results[channel] : undefined;
  const poster = channel ? posters[channel] : undefined;

  const message = t(`share.message.${item.kind}`, { title: item.title });

  const copy = async (r: ShareResult) => {
    try {
      await api.copyText(t("share.clipboard", { message, url: r.url }));
      toast(t("share.copiedToast"));
    } catch (e) {
      setError(e as ApiError);
    }
  };

  const save = async (r: ShareResult) => {
    try {
      const path = await api.saveQrPng(r.url, `warmlead-${r.share.token}.png`);
      if (path) toast(t("share.savedToast", { path }));
    } catch (e) {
      setError(e as ApiError);
    }
  };

  const savePoster = async (png: string, r: ShareResult) => {
    try {
      const path = await api.savePng(png, `warmlead-poster-${r.share.token}.png`);
      if (path) toast(t("share.posterSavedToast", { path }));
    } catch (e) {
      setError(e as ApiError);
    }
  };

  const copyPoster = async (png: string) => {
    try {
      await api.copyPng(png);
      toast(t("share.posterCopiedToast"));
    } catch (e) {
      setError(e as ApiError);
    }
  };

  return (
    <div className="backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div
        ref={dialogRef}
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="share-title"
        data-testid="share-dialog"
        onKeyDown={(e) => trapKeys(e, onClose)}
      >
        <div className="dialog-head">
          <h2 id="share-title">{t("share.title", { title: item.title })}</h2>
          <button
            type="button"
            className="btn btn-quiet"
            data-testid="share-close"
            onClick={onClose}
          >
            {t("common.close")}
          </button>
        </div>

        <div>
          <div className="hint" id="share-channel-label">
            {t("share.channel")}
          </div>
          <div className="channels" role="radiogroup" aria-labelledby="share-channel-label">
            {CHANNELS.map((c) => (
              <button
                key={c}
                type="button"
                role="radio"
                className="channel"
                data-testid={`share-channel-${c}`}
                aria-checked={channel === c}
                disabled={busy}
                onClick={() => void pick(c)}
              >
                {t(`share.channels.${c}`)}
              </button>
            ))}
          </div>
        </div>

        {offline && <div className="note">{t("share.offline")}</div>}
        {error && (
          <div className="error" role="alert" data-testid="share-error">
            {t("error.generic", { message: error.message })}
          </div>
        )}
        {!channel && <p className="hint">{t("share.pickChannel")}</p>}
        {busy && <p className="hint">{t("share.creating")}</p>}

        {result && (
          <>
            <div className="tabs" role="tablist">
              {TABS.map((k) => (
                <button
                  key={k}
                  type="button"
                  role="tab"
                  className="tab"
                  data-testid={`share-tab-${k}`}
                  aria-selected={tab === k}
                  onClick={() => openTab(k)}
                >
                  {t(TAB_LABELS[k])}
                </button>
              ))}
            </div>
            {/* Every panel stays in the DOM (hidden when inactive) so the URL
                and the QR image are always there for tests and screen readers;
                they share one cell of a fixed height so the dialog and its tab
                bar do not move between tabs. */}
            <div className="share-panels">
              <div role="tabpanel" className="field" hidden={tab !== "link"}>
                <span className="hint">{t("share.messageLabel")}</span>
                <div className="message-box" data-testid="share-message">
                  {message}
                </div>
                <span className="hint">{t("share.linkLabel")}</span>
                <div className="url-box" data-testid="share-url">
                  {result.url}
                </div>
                <div className="detail-actions">
                  <button
                    type="button"
                    className="btn btn-primary"
                    data-testid="share-copy"
                    onClick={() => void copy(result)}
                  >
                    {t("share.copy")}
                  </button>
                </div>
              </div>
              <div role="tabpanel" className="qr" hidden={tab !== "qr"}>
                <img
                  data-testid="share-qr"
                  src={`data:image/png;base64,${result.qr_png_base64}`}
                  alt={t("share.qrAlt", { url: result.url })}
                />
                <button
                  type="button"
                  className="btn btn-primary"
                  data-testid="share-save-qr"
                  onClick={() => void save(result)}
                >
                  {t("share.saveQr")}
                </button>
              </div>
              <div role="tabpanel" className="qr share-poster" hidden={tab !== "poster"}>
                {posterBusy && !poster && (
                  <p className="hint" aria-busy="true">
                    {t("share.posterMaking")}
                  </p>
                )}
                {poster && (
                  <>
                    <img
                      className="poster-preview"
                      data-testid="share-poster"
                      src={`data:image/png;base64,${poster}`}
                      alt={t("share.posterAlt", { title: item.title })}
                    />
                    <div className="detail-actions">
                      <button
                        type="button"
                        className="btn btn-primary"
                        data-testid="share-save-poster"
                        onClick={() => void savePoster(poster, result)}
                      >
                        {t("share.savePoster")}
                      </button>
                      <button
                        type="button"
                        className="btn"
                        data-testid="share-copy-poster"
                        onClick={() => void copyPoster(poster)}
                      >
                        {t("share.copyPoster")}
                      </button>
                    </div>
                  </>
                )}
              </div>
            </div>
            {result.pending_sync && waiting && !offline && (
              <div className="note" data-testid="share-pending">
                {t("share.pending")}
              </div>
            )}
          </>
        )}
      </div>
    </div>
  );
}
