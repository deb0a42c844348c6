// 合伙人: the rep's partners (up to 10,000), keyset-paged from the local
// cache as the list scrolls, virtualized and keyboard navigable like Leads.
// Filter chips with counts (全部/活跃/沉睡/从未分享/新加入/流失), search by
// name or phone, CSV import and export; the detail pane shows activity,
// stage with its rule, and where the partner came from. Refreshes after
// every sync that brought changes.
import {
  memo,
  useCallback,
  useEffect,
  useMemo,
  useRef,
  useState,
  type KeyboardEvent,
} from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import { keyTarget, useVirtualRows } from "../listNav";
import type {
  PartnerCounts,
  PartnerCursor,
  PartnerFilter,
  PartnerSummary,
  SyncStatus,
} from "../bindings";
import { EmptyState } from "../components/EmptyState";
import { useToast } from "../components/Toast";
import { formatCount, formatDaysAgo, formatPhone } from "../format";
import { useNow, useSyncTick } from "../hooks";
import { PARTNER_FILTERS, buildPartnerQuery, exportFileName, loadRows } from "../partners";
import { ImportDialog } from "./ImportDialog";
import { PartnerDetailPane } from "./PartnerDetail";

const ROW_PX = 64;

/** One row; memoized so scrolling renders only the rows that enter the view. */
const PartnerRow = memo(function PartnerRow({
  summary: s,
  index,
  top,
  active,
  selected,
  now,
  lang,
  onPick,
}: {
  summary: PartnerSummary;
  index: number;
  top: number;
  active: boolean;
  selected: boolean;
  now: number;
  lang: string;
  onPick: (index: number) => void;
}) {
  const { t } = useTranslation();
  const p = s.partner;
  const a = s.activity;
  return (
    <div
      id={`partner-${p.id}`}
      role="option"
      className={`radar-row partner-row${active ? " active" : ""}`}
      data-testid="partner-row"
      data-partner-id={p.id}
      data-stage={s.stage}
      aria-selected={selected}
      style={{ top, height: ROW_PX }}
      onClick={() => onPick(index)}
    >
      <div className="row-main">
        <span className="row-title">
          <strong>{p.name}</strong>
          <span className={`stage-badge stage-${s.stage}`}>
            {t(`partners.stage.${s.stage}`)}
          </span>
        </span>
        <span className="row-sub">
          {p.phone ? formatPhone(p.phone) : t("partners.noPhone")} ·{" "}
          {t(`partners.source.${p.source ?? "unknown"}`)}
        </span>
      </div>
      <div className="stats" aria-label={t("partners.detail.activity")}>
        {(["shares", "views", "leads", "deals"] as const).map((k) => (
          <span key={k} className="stat">
            <b>{formatCount(a[k], lang)}</b>
            <small>{t(`partners.stat.${k}`)}</small>
          </span>
        ))}
      </div>
      <div className="row-side last-share">
        {a.last_share_at_ms === null
          ? t("partners.neverShared")
          : formatDaysAgo(a.last_share_at_ms, now, t)}
      </div>
    </div>
  );
});

export function Partners({
  status,
  onInvite,
}: {
  status: SyncStatus | null;
  onInvite: () => void;
}) {
  const { t, i18n } = useTranslation();
  const toast = useToast();
  const now = useNow();
  const lang = i18n.language;
  const [filter, setFilter] = useState<PartnerFilter>("all");
  const [search, setSearch] = useState("");
  const [rows, setRows] = useState<PartnerSummary[] | null>(null);
  const [next, setNext] = useState<PartnerCursor | null>(null);
  const [counts, setCounts] = useState<PartnerCounts | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [active, setActive] = useState(0);
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const [importing, setImporting] = useState(false);
  const [exporting, setExporting] = useState(false);
  const [reload, setReload] = useState(0);
  const syncTick = useSyncTick();
  const loadingMore = useRef(false);
  const scrollRef = useRef<HTMLDivElement>(null);
  const refresh = `${syncTick}-${reload}-${status?.last_synced_at_ms ?? 0}`;

  // First page for the chip and search; after a sync, as many rows as the
  // list held, so the place in a long list is kept.
  const loaded = useRef({ key: "", count: 0 });
  useEffect(() => {
    let live = true;
    const key = JSON.stringify([filter, search]);
    const want = loaded.current.key === key ? loaded.current.count : 0;
    loadRows(api.partners, buildPartnerQuery(filter, search), want)
      .then((page) => {
        if (!live) return;
        loaded.current = { key, count: page.partners.length };
        setRows(page.partners);
        setNext(page.next);
        setError(null);
      })
      .catch((e: ApiError) => live && setError(e));
    return () => {
      live = false;
    };
  }, [filter, search, refresh]);

  // A new chip or search starts at the top (a sync refresh keeps the place).
  useEffect(() => {
    scrollRef.current?.scrollTo({ top: 0 });
  }, [filter, search]);

  useEffect(() => {
    let live = true;
    api
      .partnerCounts()
      .then((c) => live && setCounts(c))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [refresh]);

  const loadMore = useCallback(() => {
    if (!next || loadingMore.current) return;
    loadingMore.current = true;
    api
      .partners({ ...buildPartnerQuery(filter, search), after: next })
      .then((page) => {
        setRows((r) => {
          const all = [...(r ?? []), ...page.partners];
          loaded.current = { ...loaded.current, count: all.length };
          return all;
        });
        setNext(page.next);
      })
      .catch((e: ApiError) => setError(e))
      .finally(() => {
        loadingMore.current = false;
      });
  }, [next, filter, search]);

  const list = useMemo(() => rows ?? [], [rows]);
  const virtualizer = useVirtualRows(list.length, ROW_PX, scrollRef, loadMore, 20);
  const visible = virtualizer.getVirtualItems();

  // The row under the keyboard follows the selected partner across refreshes.
  const found = selectedId === null ? -1 : list.findIndex((r) => r.partner.id === selectedId);
  const current = found >= 0 ? found : active;

  // Stable between page loads, so memoized rows do not re-render on scroll.
  const select = useCallback(
    (i: number) => {
      const row = list[i];
      if (!row) return;
      setActive(i);
      setSelectedId(row.partner.id);
      virtualizer.scrollToIndex(i);
    },
    [list, virtualizer],
  );

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const to = keyTarget(e.key, current, list.length);
    if (to === null) return;
    e.preventDefault();
    select(to);
  };

  const doExport = async () => {
    setExporting(true);
    try {
      const path = await api.exportPartners(exportFileName(Date.now()));
      toast(t("partners.exported", { path }));
    } catch (e) {
      toast(t("error.generic", { message: (e as ApiError).message }));
    } finally {
      setExporting(false);
    }
  };

  const filtered = filter !== "all" || search.trim() !== "";
  const noneAtAll = rows !== null && rows.length === 0 && !filtered;

  return (
    <section className="main" aria-labelledby="partners-title">
      <header className="section-head">
        <h1 id="partners-title">{t("partners.title")}</h1>
        <input
          type="search"
          className="input search"
          placeholder={t("partners.search")}
          aria-label={t("partners.search")}
          value={search}
          onChange={(e) => {
            setSearch(e.target.value);
            setActive(0);
          }}
          data-testid="partner-search"
        />
        <span className="grow" />
        <button
          type="button"
          className="btn"
          onClick={() => setImporting(true)}
          data-testid="partner-import"
        >
          {t("partners.import")}
        </button>
        <button
          type="button"
          className="btn"
          onClick={() => void doExport()}
          disabled={exporting || noneAtAll}
          aria-busy={exporting}
          data-testid="partner-export"
        >
          {exporting ? t("partners.exporting") : t("partners.export")}
        </button>
        <button type="button" className="btn btn-primary" onClick={onInvite} data-testid="partner-invite">
          {t("partners.invite")}
        </button>
      </header>
      <div className="toolbar lead-filters" hidden={noneAtAll}>
        <div className="chips" role="group" aria-label={t("partners.filters")}>
          {PARTNER_FILTERS.map((f) => (
            <button
              key={f}
              type="button"
              className="chip"
              aria-pressed={filter === f}
              onClick={() => {
                setFilter(f);
                setActive(0);
              }}
              data-testid={`partner-filter-${f}`}
            >
              {t(`partners.filter.${f}`)}
              {counts && <span className="chip-count">{formatCount(counts[f], lang)}</span>}
            </button>
          ))}
        </div>
      </div>
      <div className="split">
        <div className="list-pane" style={{ padding: 0 }}>
          {error && (
            <div className="error" role="alert">
              {t("error.generic", { message: error.message })}
            </div>
          )}
          {rows && rows.length === 0 ? (
            filtered ? (
              <EmptyState
                title={t("partners.noMatchTitle")}
                body={t("partners.noMatchBody")}
                testId="partner-no-results"
              />
            ) : (
              <EmptyState
                title={t("partners.emptyTitle")}
                body={t("partners.emptyBody")}
                testId="partner-empty"
                action={
                  <div className="detail-actions">
                    <button type="button" className="btn btn-primary" onClick={onInvite}>
                      {t("partners.invite")}
                    </button>
                    <button type="button" className="btn" onClick={() => setImporting(true)}>
                      {t("partners.importCsv")}
                    </button>
                  </div>
                }
              />
            )
          ) : (
            <div
              ref={scrollRef}
              className="radar-list"
              role="listbox"
              aria-label={t("partners.list")}
              tabIndex={0}
              aria-activedescendant={list[current] ? `partner-${list[current].partner.id}` : undefined}
              onKeyDown={onKeyDown}
              data-testid="partner-list"
            >
              <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
                {visible.map((v) => {
                  const s = list[v.index];
                  if (!s) return null;
                  return (
                    <PartnerRow
                      key={s.partner.id}
                      summary={s}
                      index={v.index}
                      top={v.start}
                      active={v.index === current}
                      selected={s.partner.id === selectedId}
                      now={now}
                      lang={lang}
                      onPick={select}
                    />
                  );
                })}
              </div>
            </div>
          )}
        </div>
        <aside className="detail-pane" aria-live="polite">
          {selectedId !== null ? (
            <PartnerDetailPane id={selectedId} refresh={refresh} />
          ) : (
            rows &&
            rows.length > 0 && (
              <EmptyState title={t("partners.pickTitle")} body={t("partners.pickBody")} />
            )
          )}
        </aside>
      </div>
      {importing && (
        <ImportDialog
          onClose={() => setImporting(false)}
          onImported={() => setReload((n) => n + 1)}
        />
      )}
    </section>
  );
}
