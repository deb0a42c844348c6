// 内容库: what managers (the whole company's) and reps (their own, plus the
// company's) write. A list with status chips and 我的, the editor in the
// detail area with a phone-sized preview beside it. Everything typed is
// saved here as it is typed and reaches the server at the next sync.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type {
  ContentKind,
  ContentStatus,
  LibraryItem,
  Session,
  SyncStatus,
} from "../bindings";
import { EmptyState } from "../components/EmptyState";
import { FilterTabs, type FilterTab } from "../components/FilterTabs";
import { formatWhen } from "../format";
import { useNow } from "../hooks";
import { emptyState } from "../library";
import { LibraryEditor } from "./LibraryEditor";

const STATUS_TABS: FilterTab<ContentStatus>[] = [
  { value: null, label: "library.all" },
  { value: "draft", label: "library.status.draft" },
  { value: "live", label: "library.status.live" },
  { value: "archived", label: "library.status.archived" },
];

const KINDS: ContentKind[] = ["article", "case_study", "poster", "video"];

/** A key for a new item, made here so an offline draft and its edits name it. */
function newKey(): string {
  return crypto.randomUUID();
}

export function Library({ session, status }: { session: Session; status: SyncStatus | null }) {
  const { t } = useTranslation();
  const now = useNow(60_000);
  const [filter, setFilter] = useState<ContentStatus | null>(null);
  const [mineOnly, setMineOnly] = useState(session.user.role === "rep");
  const [search, setSearch] = useState("");
  const [items, setItems] = useState<LibraryItem[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  // `fresh`: made here and not yet in the list (no save came back yet).
  const [selected, setSelected] = useState<{ key: string; kind: ContentKind; fresh: boolean } | null>(null);
  const [choosing, setChoosing] = useState(false);
  const [reload, setReload] = useState(0);
  const syncedAt = status?.last_synced_at_ms ?? null;
  const pending = status?.pending ?? 0;

  useEffect(() => {
    let live = true;
    api
      .library({ status: filter, mine_only: mineOnly, search: search.trim() || null })
      .then((list) => {
        if (!live) return;
        setItems(list);
        setError(null);
        // A filter that hides the selected item closes it: the editor never
        // shows an item the list does not (its status badge would be a
        // guess). A new item stays until its first save lists it.
        setSelected((s) => {
          if (!s) return s;
          const listed = list.some((i) => i.item.key === s.key);
          if (listed) return s.fresh ? { ...s, fresh: false } : s;
          return s.fresh ? s : null;
        });
      })
      .catch((e: ApiError) => live && setError(e));
    return () => {
      live = false;
    };
  }, [filter, mineOnly, search, syncedAt, pending, reload]);

  const current = items?.find((i) => i.item.key === selected?.key) ?? null;
  const empty = emptyState(filter, mineOnly, search);

  const create = (kind: ContentKind) => {
    setChoosing(false);
    setSelected({ key: newKey(), kind, fresh: true });
  };

  return (
    <section className="main" aria-labelledby="library-title">
      <header className="section-head">
        <h1 id="library-title">{t("section.content")}</h1>
        <FilterTabs
          tabs={STATUS_TABS}
          selected={filter}
          onSelect={setFilter}
          label={t("library.statusFilter")}
          testPrefix="library-tab"
        />
        <label className="check">
          <input
            type="checkbox"
            data-testid="library-mine"
            checked={mineOnly}
            onChange={(e) => setMineOnly(e.target.checked)}
          />
          {t("library.mineOnly")}
        </label>
        <span className="grow" />
        <input
          type="search"
          className="input search"
          aria-label={t("library.search")}
          placeholder={t("library.search")}
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <div className="menu-anchor">
          <button
            type="button"
            className="btn btn-primary"
            data-testid="library-new"
            aria-expanded={choosing}
            onClick={() => setChoosing((c) => !c)}
          >
            {t("library.new")}
          </button>
          {choosing && (
            <div className="menu" role="menu">
              {KINDS.map((k) => (
                <button
                  key={k}
                  type="button"
                  role="menuitem"
                  className="menu-item"
                  data-testid={`library-new-${k}`}
                  onClick={() => create(k)}
                >
                  {t(`kind.${k}`)}
                </button>
              ))}
            </div>
          )}
        </div>
      </header>
      <div className="split library-split">
        <div className="list-pane">
          {error && (
            <div className="error" role="alert">
              {t("error.generic", { message: error.message })}
            </div>
          )}
          {items && items.length === 0 && (
            <EmptyState
              title={t(empty.title, { status: filter ? t(`library.status.${filter}`) : "" })}
              body={t(empty.body)}
            />
          )}
          {items && items.length > 0 && (
            <ul className="rows" aria-label={t("section.content")}>
              {items.map(({ item, mine, unsynced, rejected }) => (
                <li key={item.key}>
                  <button
                    type="button"
                    className="row"
                    data-testid="library-item"
                    data-key={item.key}
                    aria-pressed={item.key === selected?.key}
                    onClick={() => setSelected({ key: item.key, kind: item.kind, fresh: false })}
                  >
                    <span className="row-main">
                      <span className="row-title">{item.title || t("library.untitled")}</span>
                      <span className="card-meta">
                        <span className="kind-chip">{t(`kind.${item.kind}`)}</span>
                        <span className={`status-chip status-${item.status}`}>
                          {t(`library.status.${item.status}`)}
                        </span>
                        {mine && <span className="mine-chip">{t("library.mine")}</span>}
                        <span>
                          {mine && session.user.role === "rep"
                            ? t("library.myPartners")
                            : item.audience.to === "company"
                              ? t("library.audienceCompany")
                              : t("library.audienceReps", { count: item.audience.rep_ids.length })}
                        </span>
                      </span>
                    </span>
                    <span className="row-side">
                      {rejected !== null ? (
                        <span className="badge badge-red">{t("library.rejected")}</span>
                      ) : unsynced ? (
                        <span className="badge">{t("library.unsynced")}</span>
                      ) : (
                        <span className="hint">{formatWhen(item.updated_at_ms, now, t)}</span>
                      )}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div className="detail-pane library-detail">
          {selected ? (
            <LibraryEditor
              key={selected.key}
              session={session}
              itemKey={selected.key}
              kind={selected.kind}
              current={current}
              offline={status?.state === "offline"}
              onChanged={() => setReload((r) => r + 1)}
              onDeleted={() => {
                setSelected(null);
                setReload((r) => r + 1);
              }}
            />
          ) : (
            <EmptyState title={t("library.pickTitle")} body={t("library.pickBody")} />
          )}
        </div>
      </div>
    </section>
  );
}
