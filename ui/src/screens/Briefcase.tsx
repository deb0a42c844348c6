// 公文包: the content a partner may share, as a grid by kind with search,
// and the chosen item in a detail pane on the right.
import { useEffect, useState, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type { BriefcaseItem, ContentKind, SyncStatus } from "../bindings";
import { Cover } from "../components/Cover";
import { EmptyState } from "../components/EmptyState";
import { FilterTabs, type FilterTab } from "../components/FilterTabs";
import { RejectedList } from "../components/RejectedList";
import { formatWhen } from "../format";
import { useNow } from "../hooks";
import { refusedShares } from "../rejections";
import { ItemBody } from "./LibraryBody";
import { ShareDialog } from "./ShareDialog";

const TABS: FilterTab<ContentKind>[] = [
  { value: null, label: "briefcase.all" },
  { value: "article", label: "briefcase.articles" },
  { value: "poster", label: "briefcase.posters" },
  { value: "video", label: "briefcase.videos" },
  { value: "case_study", label: "briefcase.cases" },
];

/** Arrow keys move between cards: left/right by one, up/down by a row. */
function moveInGrid(e: KeyboardEvent<HTMLDivElement>) {
  const keys = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"];
  if (!keys.includes(e.key)) return;
  const cards = [...e.currentTarget.querySelectorAll<HTMLButtonElement>(".card")];
  const i = cards.indexOf(document.activeElement as HTMLButtonElement);
  if (i < 0) return;
  e.preventDefault();
  const top = cards[0]?.offsetTop;
  const perRow = Math.max(1, cards.filter((c) => c.offsetTop === top).length);
  const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -perRow, ArrowDown: perRow }[e.key] ?? 0;
  cards[Math.min(cards.length - 1, Math.max(0, i + step))]?.focus();
}

export function Briefcase({
  status,
  offline,
  onDismiss,
  title,
  canShare,
}: {
  status: SyncStatus | null;
  offline: boolean;
  /** Forgets a refused share the user has seen. */
  onDismiss: (mutationId: string) => Promise<void>;
  /** The section's name: 公文包 for partners and reps, 内容库 for managers. */
  title: string;
  /** Managers browse the library; partners and reps share from it. */
  canShare: boolean;
}) {
  const { t } = useTranslation();
  const now = useNow(60_000);
  const [kind, setKind] = useState<ContentKind | null>(null);
  const [search, setSearch] = useState("");
  const [items, setItems] = useState<BriefcaseItem[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const [sharing, setSharing] = useState(false);
  const syncedAt = status?.last_synced_at_ms ?? null;
  const pending = status?.pending ?? 0;
  // Shares the server refused were removed from the counts; each stays
  // listed here, with its item and why, until dismissed.
  const refused = refusedShares(status?.rejected ?? []);

  // Reload on every filter change and after each sync (new content, counts).
  useEffect(() => {
    let live = true;
    api
      .briefcase({ kind, search: search.trim() || null })
      .then((list) => {
        if (!live) return;
        setItems(list);
        setError(null);
      })
      .catch((e: ApiError) => live && setError(e));
    return () => {
      live = false;
    };
  }, [kind, search, syncedAt, pending]);

  const selected = items?.find((b) => b.item.id === selectedId) ?? null;
  const filtered = kind !== null || search.trim() !== "";

  return (
    <section className="main" aria-labelledby="briefcase-title">
      <header className="section-head">
        <h1 id="briefcase-title">{title}</h1>
        <FilterTabs
          tabs={TABS}
          selected={kind}
          onSelect={setKind}
          label={t("briefcase.tabs")}
          testPrefix="briefcase-tab"
        />
        <span className="grow" />
        <input
          type="search"
          className="input search"
          data-testid="briefcase-search"
          aria-label={t("briefcase.search")}
          placeholder={t("briefcase.search")}
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
      </header>
      <div className="split">
        <div className="list-pane">
          {refused.length > 0 && (
            <section className="refused-shares" aria-labelledby="refused-shares-title">
              <h2 id="refused-shares-title" className="hint">
                {t("rejected.shares")}
              </h2>
              <RejectedList rejected={refused} onDismiss={onDismiss} testId="refused-shares" />
            </section>
          )}
          {error && (
            <div className="error" role="alert">
              {t("error.generic", { message: error.message })}
            </div>
          )}
          {items && items.length === 0 && (
            <EmptyState
              title={t(filtered ? "briefcase.noMatchTitle" : "briefcase.emptyTitle")}
              body={t(filtered ? "briefcase.noMatchBody" : "briefcase.emptyBody")}
            />
          )}
          {items && items.length > 0 && (
            <div className="grid" onKeyDown={moveInGrid} role="list">
              {items.map(({ item, my_shares }) => (
                <button
                  key={item.id}
                  type="button"
                  role="listitem"
                  className="card"
                  data-testid="briefcase-item"
                  data-item-id={item.id}
                  aria-pressed={item.id === selectedId}
                  onClick={() => setSelectedId(item.id)}
                  onDoubleClick={() => {
                    setSelectedId(item.id);
                    setSharing(canShare);
                  }}
                >
                  <Cover item={item} />
                  <span className="card-body">
                    <span className="card-title">{item.title}</span>
                    <span className="card-meta">
                      <span className="kind-chip">{t(`kind.${item.kind}`)}</span>
                      <span>
                        {my_shares > 0
                          ? t("briefcase.shared", { count: my_shares })
                          : t("briefcase.notShared")}
                      </span>
                    </span>
                  </span>
                </button>
              ))}
            </div>
          )}
        </div>
        <aside className="detail-pane" aria-live="polite">
          {selected ? (
            <article className="detail" data-testid="briefcase-detail">
              <Cover item={selected.item} />
              <h2>{selected.item.title}</h2>
              <div className="card-meta">
                <span className="kind-chip">{t(`kind.${selected.item.kind}`)}</span>
                <span>
                  {t("briefcase.updated", {
                    when: formatWhen(selected.item.updated_at_ms, now, t),
                  })}
                </span>
              </div>
              <div className="detail-actions">
                {canShare && (
                  <button
                    type="button"
                    className="btn btn-primary btn-lg"
                    data-testid="share-button"
                    onClick={() => setSharing(true)}
                  >
                    {t("briefcase.share")}
                  </button>
                )}
                <span className="hint">
                  {selected.my_shares > 0
                    ? t("briefcase.shared", { count: selected.my_shares })
                    : t("briefcase.notShared")}
                </span>
              </div>
              <p className="summary">{selected.item.summary}</p>
              <ItemBody item={selected.item} />
            </article>
          ) : (
            <EmptyState title={t("briefcase.pickTitle")} body={t("briefcase.pickBody")} />
          )}
        </aside>
      </div>
      {sharing && selected && (
        <ShareDialog
          item={selected.item}
          offline={offline}
          waiting={pending > 0}
          onClose={() => setSharing(false)}
        />
      )}
    </section>
  );
}
