// The library's editor for one item: the fields of its kind, uploads with
// progress and cancel, who sees it, publish and archive, and beside it the
// item as the phone will show it (390 px, the same sanitised HTML the
// public page serves). Saved as the author types (debounced), offline too.
import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";

import { api, toApiError, type ApiError } from "../api";
import type {
  CaseStudy,
  ContentDraft,
  ContentKind,
  LibraryItem,
  MediaRef,
  Session,
  User,
} from "../bindings";
import { ARTICLE_IMAGE_TYPES, LIMITS } from "../bindings/Limits";
import { Dialog } from "../components/Dialog";
import { fileToBase64 } from "../partners";
import "./Library.css";

const SAVE_AFTER_MS = 700;
const EMPTY_CASE: CaseStudy = {
  customer: "",
  problem: "",
  solution: "",
  result: "",
  quote: "",
  images: [],
};

function draftOf(kind: ContentKind, current: LibraryItem | null): ContentDraft {
  const i = current?.item;
  return {
    kind: i?.kind ?? kind,
    title: i?.title ?? "",
    summary: i?.summary ?? "",
    body: i?.body ?? "",
    case_study: i?.case_study ?? (kind === "case_study" ? EMPTY_CASE : null),
    cover: i?.cover ?? null,
    video: i?.video ?? null,
    audience: i?.audience ?? { to: "company" },
  };
}

/** The first image of a paste or drop, if it carries one. */
function imageOf(data: DataTransfer | null): File | null {
  const files = Array.from(data?.files ?? []);
  return files.find((f) => f.type.startsWith("image/")) ?? null;
}

/** Images of this server in the editor show through data: URLs; the
 * stored HTML keeps their `/media/{key}` address. */
const MEDIA_SRC = /^\/media\/([0-9a-f]{32})$/;

function useMediaUrl(key: string | null | undefined): string | null {
  const [loaded, setLoaded] = useState<{ key: string; url: string } | null>(null);
  useEffect(() => {
    let live = true;
    if (key) api.mediaDataUrl(key).then((url) => live && setLoaded({ key, url }), () => {});
    return () => {
      live = false;
    };
  }, [key]);
  return loaded && loaded.key === key ? loaded.url : null;
}

function MediaImg({ media, className }: { media: MediaRef | null; className?: string }) {
  const url = useMediaUrl(media?.key);
  return url ? <img className={className} src={url} alt="" /> : null;
}

/** Replaces `/media/{key}` images of `root` with their data: URL. */
function showImages(root: HTMLElement) {
  root.querySelectorAll("img").forEach((img) => {
    const key = MEDIA_SRC.exec(img.getAttribute("src") ?? "")?.[1];
    if (!key) return;
    img.dataset.mediaKey = key;
    api.mediaDataUrl(key).then((u) => (img.src = u), () => {});
  });
}

/** The editor's HTML with images back at their server address. */
function serialize(root: HTMLElement): string {
  const copy = root.cloneNode(true) as HTMLElement;
  copy.querySelectorAll<HTMLImageElement>("img").forEach((img) => {
    if (img.dataset.mediaKey) {
      img.setAttribute("src", `/media/${img.dataset.mediaKey}`);
      img.removeAttribute("data-media-key");
    }
  });
  return copy.innerHTML;
}

type Upload = { id: string; sent: number; total: number; error: ApiError | null };

/** Choose a file, stream it up with a progress bar and a cancel button. */
function Uploader({
  video,
  label,
  onDone,
}: {
  video: boolean;
  label: string;
  onDone: (m: MediaRef) => void;
}) {
  const { t } = useTranslation();
  const [up, setUp] = useState<Upload | null>(null);
  const [lastPath, setLastPath] = useState<string | null>(null);

  useEffect(() => {
    const stop = api.onUploadProgress((p) =>
      setUp((u) => (u && u.id === p.upload_id ? { ...u, sent: p.sent, total: p.total } : u)),
    );
    return () => void stop.then((f) => f());
  }, []);

  const start = useCallback(
    async (path: string) => {
      const id = crypto.randomUUID();
      setLastPath(path);
      setUp({ id, sent: 0, total: 0, error: null });
      try {
        const media = await api.uploadMedia(id, path);
        setUp(null);
        onDone(media);
      } catch (e) {
        setUp((u) => (u ? { ...u, error: toApiError(e) } : u));
      }
    },
    [onDone],
  );
  const choose = async () => {
    const path = await api.pickMediaFile(video).catch(() => null);
    if (path) await start(path);
  };

  // No network: the upload waits and starts again from the beginning by
  // itself once a sync reaches the server (the file is read from disk).
  const waiting = up?.error?.code === "offline" && lastPath !== null;
  useEffect(() => {
    if (!waiting || !lastPath) return;
    const stop = api.onSyncStatus((s) => {
      if (s.state === "synced" || s.state === "attention") void start(lastPath);
    });
    return () => void stop.then((f) => f());
  }, [waiting, lastPath, start]);

  const running = up !== null && up.error === null;
  const pct = up && up.total > 0 ? Math.floor((up.sent * 100) / up.total) : 0;
  return (
    <div className="uploader">
      <button type="button" className="btn" disabled={running} onClick={() => void choose()}>
        {label}
      </button>
      {running && (
        <div className="upload-progress" data-testid="upload-progress">
          <progress max={100} value={pct} aria-label={t("library.uploading")} />
          <span>{t("library.uploadPct", { pct })}</span>
          <button type="button" className="btn btn-ghost" onClick={() => void api.cancelUpload(up.id)}>
            {t("common.cancel")}
          </button>
        </div>
      )}
      {waiting && (
        <p className="hint" role="status" data-testid="upload-waiting">
          {t("library.uploadWaiting")}
        </p>
      )}
      {up?.error && !waiting && (
        <div className="error" role="alert">
          {t("library.uploadFailed", { message: up.error.message })}{" "}
          {lastPath && (
            <button type="button" className="btn btn-ghost" onClick={() => void start(lastPath)}>
              {t("library.retry")}
            </button>
          )}
        </div>
      )}
    </div>
  );
}

const TOOLS: { cmd: string; arg?: string; label: string }[] = [
  { cmd: "formatBlock", arg: "h2", label: "library.tool.h2" },
  { cmd: "formatBlock", arg: "h3", label: "library.tool.h3" },
  { cmd: "formatBlock", arg: "p", label: "library.tool.p" },
  { cmd: "bold", label: "library.tool.bold" },
  { cmd: "italic", label: "library.tool.italic" },
  { cmd: "insertUnorderedList", label: "library.tool.ul" },
  { cmd: "insertOrderedList", label: "library.tool.ol" },
  { cmd: "formatBlock", arg: "blockquote", label: "library.tool.quote" },
];

/** A small rich-text editor: headings, bold, lists, links, images in the
 * text. Its HTML goes through the server's sanitiser on every save. */
function ArticleEditor({ html, onChange }: { html: string; onChange: (html: string) => void }) {
  const { t } = useTranslation();
  const ref = useRef<HTMLDivElement>(null);
  const [linking, setLinking] = useState(false);
  const [href, setHref] = useState("https://");
  const saved = useRef<Range | null>(null);
  // Editable once the body is in: typing before would be overwritten.
  const [ready, setReady] = useState(false);

  useEffect(() => {
    let live = true;
    // The cached body is whatever the server sent: only the sanitiser's
    // output (the server's own allow-list, run in Rust) enters the page.
    api.sanitizeArticle(html).then(
      (safe) => {
        if (!live || !ref.current) return;
        ref.current.innerHTML = safe;
        showImages(ref.current);
        setReady(true);
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
    // Only the first render sets the content; typing owns it afterwards.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const changed = () => ref.current && onChange(serialize(ref.current));
  const run = (cmd: string, arg?: string) => {
    ref.current?.focus();
    document.execCommand(cmd, false, arg);
    changed();
  };
  const keepSelection = () => {
    const sel = window.getSelection();
    saved.current = sel && sel.rangeCount > 0 ? sel.getRangeAt(0).cloneRange() : null;
  };
  const restoreSelection = () => {
    ref.current?.focus();
    const sel = window.getSelection();
    if (saved.current && sel) {
      sel.removeAllRanges();
      sel.addRange(saved.current);
    }
  };
  const insertImage = (m: MediaRef) => {
    restoreSelection();
    document.execCommand("insertHTML", false, `<img src="/media/${m.key}" alt="">`);
    if (ref.current) showImages(ref.current);
    changed();
  };
  const imageInput = useRef<HTMLInputElement>(null);
  const [imageError, setImageError] = useState<ApiError | null>(null);
  // Kept in the cache under its own key (offline too); the next sync
  // uploads it before the article, so it can be placed with no network.
  const placeImage = async (file: File) => {
    setImageError(null);
    try {
      insertImage(await api.addArticleImage(file.type, await fileToBase64(file)));
    } catch (e) {
      setImageError(toApiError(e));
    }
  };

  return (
    <div className="article-editor">
      <div className="toolbar" role="toolbar" aria-label={t("library.toolbar")} onMouseDown={keepSelection}>
        {TOOLS.map((tool) => (
          <button
            key={tool.label}
            type="button"
            className="tool"
            onMouseDown={(e) => e.preventDefault()}
            onClick={() => run(tool.cmd, tool.arg)}
          >
            {t(tool.label)}
          </button>
        ))}
        <button
          type="button"
          className="tool"
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => {
            keepSelection();
            setLinking(true);
          }}
        >
          {t("library.tool.link")}
        </button>
        <button
          type="button"
          className="tool"
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => imageInput.current?.click()}
        >
          {t("library.tool.image")}
        </button>
        <input
          ref={imageInput}
          type="file"
          hidden
          accept={ARTICLE_IMAGE_TYPES.join(",")}
          data-testid="library-image-file"
          onChange={(e) => {
            const file = e.target.files?.[0];
            e.target.value = "";
            if (file) void placeImage(file);
          }}
        />
      </div>
      <div
        ref={ref}
        className="article-body"
        contentEditable={ready}
        aria-busy={!ready}
        role="textbox"
        aria-multiline="true"
        aria-label={t("library.body")}
        data-testid="library-article-body"
        onInput={changed}
        onBlur={changed}
        onPaste={(e) => {
          const file = imageOf(e.clipboardData);
          if (!file) return;
          e.preventDefault();
          keepSelection();
          void placeImage(file);
        }}
        onDrop={(e) => {
          const file = imageOf(e.dataTransfer);
          if (!file) return;
          e.preventDefault();
          void placeImage(file);
        }}
      />
      {imageError && (
        <div className="error" role="alert" data-testid="library-image-error">
          {t("library.imageFailed", { message: imageError.message })}
        </div>
      )}
      {linking && (
        <Dialog title={t("library.tool.link")} onClose={() => setLinking(false)}>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              setLinking(false);
              restoreSelection();
              if (/^https?:\/\//i.test(href)) run("createLink", href);
            }}
          >
            <label className="field">
              {t("library.linkAddress")}
              <input className="input" type="url" value={href} onChange={(e) => setHref(e.target.value)} />
            </label>
            <p className="hint">{t("library.linkHint")}</p>
            <button type="submit" className="btn btn-primary">
              {t("library.insertLink")}
            </button>
          </form>
        </Dialog>
      )}
    </div>
  );
}

/** Who sees a company item: everyone, or the partners of chosen reps. */
function AudiencePicker({
  draft,
  set,
}: {
  draft: ContentDraft;
  set: (d: Partial<ContentDraft>) => void;
}) {
  const { t } = useTranslation();
  const [reps, setReps] = useState<User[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    // From the cache: the picker works offline like the rest of the editor.
    api
      .libraryReps()
      .then(setReps)
      .catch((e) => setError(toApiError(e)));
  }, []);
  const chosen = draft.audience.to === "reps" ? draft.audience.rep_ids : [];
  const toggle = (id: number) =>
    set({
      audience: {
        to: "reps",
        rep_ids: chosen.includes(id) ? chosen.filter((r) => r !== id) : [...chosen, id],
      },
    });
  return (
    <fieldset className="audience" data-testid="library-audience">
      <legend>{t("library.audience")}</legend>
      <label className="check">
        <input
          type="radio"
          name="audience"
          checked={draft.audience.to === "company"}
          onChange={() => set({ audience: { to: "company" } })}
        />
        {t("library.audienceCompany")}
      </label>
      <label className="check">
        <input
          type="radio"
          name="audience"
          checked={draft.audience.to === "reps"}
          onChange={() => set({ audience: { to: "reps", rep_ids: chosen } })}
        />
        {t("library.audienceChosen")}
      </label>
      {draft.audience.to === "reps" && (
        <div className="rep-choices">
          {error && <p className="error">{error.message}</p>}
          {reps?.length === 0 && <p className="hint">{t("library.noReps")}</p>}
          {reps?.map((u) => (
            <label key={u.id} className="check">
              <input type="checkbox" checked={chosen.includes(u.id)} onChange={() => toggle(u.id)} />
              {u.name}
            </label>
          ))}
        </div>
      )}
    </fieldset>
  );
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <label className="field">
      <span>{label}</span>
      {children}
    </label>
  );
}

/** The item as the phone will show it: the public page's order and HTML. */
function PhonePreview({ draft, company }: { draft: ContentDraft; company: string }) {
  const { t } = useTranslation();
  const [body, setBody] = useState("");
  const bodyRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let live = true;
    if (draft.kind === "article") api.sanitizeArticle(draft.body).then((h) => live && setBody(h), () => {});
    return () => {
      live = false;
    };
  }, [draft.body, draft.kind]);
  useEffect(() => {
    if (bodyRef.current) showImages(bodyRef.current);
  }, [body]);
  const cs = draft.case_study;
  return (
    <div className="phone" data-testid="library-preview" aria-label={t("library.preview")}>
      <div className="phone-screen">
        <div className="phone-company">{company}</div>
        <h1 className="phone-title">{draft.title || t("library.untitled")}</h1>
        {draft.summary && <p className="phone-summary">{draft.summary}</p>}
        <MediaImg media={draft.cover} className="phone-media" />
        {draft.kind === "video" && draft.video && <div className="phone-video">▶ {t("kind.video")}</div>}
        {draft.kind === "article" && (
          // Sanitised by warmlead_core::article::sanitize, as on the public page.
          <div ref={bodyRef} className="phone-body" dangerouslySetInnerHTML={{ __html: body }} />
        )}
        {draft.kind === "case_study" && cs && (
          <>
            <dl className="phone-case">
              {(["customer", "problem", "solution", "result"] as const).map((f) =>
                cs[f].trim() ? (
                  <div key={f}>
                    <dt>{t(`library.case.${f}`)}</dt>
                    <dd>{cs[f]}</dd>
                  </div>
                ) : null,
              )}
            </dl>
            {cs.quote.trim() && <blockquote className="phone-quote">“{cs.quote}”</blockquote>}
            {cs.images.map((m) => (
              <MediaImg key={m.key} media={m} className="phone-media" />
            ))}
          </>
        )}
        {draft.kind !== "article" && draft.kind !== "case_study" && draft.body && (
          <div className="phone-body">
            {draft.body.split(/\n\s*\n/).map((p, i) => (
              <p key={i}>{p}</p>
            ))}
          </div>
        )}
        <div className="phone-cta">{t("library.previewCta")}</div>
      </div>
    </div>
  );
}

export function LibraryEditor({
  session,
  itemKey,
  kind,
  current,
  offline,
  onChanged,
  onDeleted,
}: {
  session: Session;
  itemKey: string;
  kind: ContentKind;
  current: LibraryItem | null;
  /** Offline, a save stays on this computer until the network is back. */
  offline: boolean;
  onChanged: () => void;
  onDeleted: () => void;
}) {
  const { t } = useTranslation();
  const [draft, setDraft] = useState<ContentDraft>(() => draftOf(kind, current));
  const [saveState, setSaveState] = useState<"idle" | "saving" | "saved" | "failed">("idle");
  const [error, setError] = useState<ApiError | null>(null);
  const [confirmArchive, setConfirmArchive] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const dirty = useRef(false);
  const timer = useRef<number | null>(null);
  // What the next save sends (set together with the state).
  const latest = useRef(draft);

  const save = useCallback(async () => {
    if (!dirty.current) return;
    dirty.current = false;
    setSaveState("saving");
    try {
      await api.saveContent(itemKey, latest.current);
      setSaveState("saved");
      onChanged();
    } catch (e) {
      setSaveState("failed");
      setError(toApiError(e));
    }
  }, [itemKey, onChanged]);

  // Nothing typed is lost: saved shortly after typing stops, and on leaving.
  useEffect(
    () => () => {
      if (timer.current !== null) window.clearTimeout(timer.current);
      void save();
    },
    [save],
  );

  const set = (patch: Partial<ContentDraft>) => {
    const next = { ...latest.current, ...patch };
    latest.current = next;
    setDraft(next);
    dirty.current = true;
    setSaveState("idle");
    if (timer.current !== null) window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => void save(), SAVE_AFTER_MS);
  };
  const setCase = (patch: Partial<CaseStudy>) =>
    set({ case_study: { ...(latest.current.case_study ?? EMPTY_CASE), ...patch } });

  const setStatus = async (status: "live" | "archived") => {
    if (timer.current !== null) window.clearTimeout(timer.current);
    await save();
    try {
      await api.setContentStatus(itemKey, status);
      setError(null);
      onChanged();
    } catch (e) {
      setError(toApiError(e));
    }
  };

  const remove = async () => {
    if (timer.current !== null) window.clearTimeout(timer.current);
    // What was typed since the last save goes with the draft.
    dirty.current = false;
    try {
      await api.deleteDraft(itemKey);
      onDeleted();
    } catch (e) {
      setError(toApiError(e));
    }
  };

  const status = current?.item.status ?? "draft";
  const ownedByRep = current ? current.item.owner_id !== null && !current.mine : false;
  const repItem = session.user.role === "rep" || ownedByRep;
  const cs = draft.case_study ?? EMPTY_CASE;

  return (
    <div className="library-editor" data-testid="library-editor">
      <div className="editor-form">
        <div className="editor-head">
          <span className="kind-chip">{t(`kind.${draft.kind}`)}</span>
          <span className={`status-chip status-${status}`}>{t(`library.status.${status}`)}</span>
          <span className="hint" data-testid="library-save-state" aria-live="polite">
            {saveState === "saving"
              ? t("library.saving")
              : saveState === "failed"
                ? t("library.saveFailed")
                : current?.unsynced || saveState === "saved"
                  ? t(offline ? "library.savedLocally" : "library.saved")
                  : ""}
          </span>
          <span className="grow" />
          {status !== "live" && (
            <button type="button" className="btn btn-primary" data-testid="library-publish" onClick={() => void setStatus("live")}>
              {t("library.publish")}
            </button>
          )}
          {status === "live" && (
            <button type="button" className="btn" data-testid="library-archive" onClick={() => setConfirmArchive(true)}>
              {t("library.archive")}
            </button>
          )}
          {status === "draft" && current !== null && (
            <button
              type="button"
              className="btn btn-danger"
              data-testid="library-delete"
              // A draft still waiting to sync would come back with its save.
              disabled={current.unsynced}
              title={current.unsynced ? t("library.deleteAfterSync") : undefined}
              onClick={() => setConfirmDelete(true)}
            >
              {t("library.deleteDraft")}
            </button>
          )}
        </div>
        {(error || current?.rejected) && (
          <div className="error" role="alert">
            {error?.message ?? t("library.rejectedBody", { message: current?.rejected })}
          </div>
        )}
        <Field label={t("library.title")}>
          <input
            className="input"
            data-testid="library-title"
            // A new item starts with its title: the author types at once.
            autoFocus={current === null}
            maxLength={LIMITS.maxTitleChars}
            value={draft.title}
            onChange={(e) => set({ title: e.target.value })}
          />
        </Field>
        <Field label={t("library.summary")}>
          <textarea
            className="input"
            rows={2}
            maxLength={LIMITS.maxSummaryChars}
            value={draft.summary}
            onChange={(e) => set({ summary: e.target.value })}
          />
        </Field>
        {draft.kind === "article" && <ArticleEditor html={draft.body} onChange={(body) => set({ body })} />}
        {draft.kind === "case_study" && (
          <>
            {(["customer", "problem", "solution", "result", "quote"] as const).map((f) => (
              <Field key={f} label={t(`library.case.${f}`)}>
                <textarea
                  className="input"
                  rows={f === "customer" ? 1 : 3}
                  maxLength={LIMITS.maxCaseFieldChars}
                  data-testid={`library-case-${f}`}
                  value={cs[f]}
                  onChange={(e) => setCase({ [f]: e.target.value })}
                />
              </Field>
            ))}
            <div className="case-images">
              {cs.images.map((m) => (
                <div key={m.key} className="thumb">
                  <MediaImg media={m} />
                  <button
                    type="button"
                    className="btn btn-ghost"
                    onClick={() => setCase({ images: cs.images.filter((x) => x.key !== m.key) })}
                  >
                    {t("library.remove")}
                  </button>
                </div>
              ))}
              {cs.images.length < LIMITS.maxCaseImages && (
                <Uploader video={false} label={t("library.addPhoto")} onDone={(m) => setCase({ images: [...cs.images, m] })} />
              )}
            </div>
          </>
        )}
        {(draft.kind === "poster" || draft.kind === "video" || draft.kind === "article") && (
          <div className="media-field">
            <span>{t(draft.kind === "poster" ? "library.posterImage" : "library.cover")}</span>
            <MediaImg media={draft.cover} className="thumb-img" />
            <Uploader video={false} label={t("library.chooseImage")} onDone={(cover) => set({ cover })} />
          </div>
        )}
        {draft.kind === "video" && (
          <div className="media-field">
            <span>{t("library.videoFile")}</span>
            {draft.video && (
              <span className="hint">{t("library.videoSize", { mb: (draft.video.size / 1_000_000).toFixed(1) })}</span>
            )}
            <Uploader video label={t("library.chooseVideo")} onDone={(video) => set({ video })} />
          </div>
        )}
        {repItem ? (
          <p className="hint">{t("library.repAudience")}</p>
        ) : (
          <AudiencePicker draft={draft} set={set} />
        )}
      </div>
      <PhonePreview draft={draft} company={session.company.name} />
      {confirmDelete && (
        <Dialog title={t("library.deleteDraftTitle")} onClose={() => setConfirmDelete(false)} testId="library-delete-dialog">
          <p>{t("library.deleteDraftBody")}</p>
          <div className="dialog-actions">
            <button type="button" className="btn" onClick={() => setConfirmDelete(false)}>
              {t("common.cancel")}
            </button>
            <button
              type="button"
              className="btn btn-danger"
              data-testid="library-delete-confirm"
              onClick={() => {
                setConfirmDelete(false);
                void remove();
              }}
            >
              {t("library.deleteDraft")}
            </button>
          </div>
        </Dialog>
      )}
      {confirmArchive && (
        <Dialog title={t("library.archiveTitle")} onClose={() => setConfirmArchive(false)}>
          <p>{t("library.archiveBody")}</p>
          <div className="dialog-actions">
            <button type="button" className="btn" onClick={() => setConfirmArchive(false)}>
              {t("common.cancel")}
            </button>
            <button
              type="button"
              className="btn btn-danger"
              data-testid="library-archive-confirm"
              onClick={() => {
                setConfirmArchive(false);
                void setStatus("archived");
              }}
            >
              {t("library.archive")}
            </button>
          </div>
        </Dialog>
      )}
    </div>
  );
}
