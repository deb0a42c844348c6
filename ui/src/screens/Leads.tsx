// 线索: leads newest change first, keyset-paged from the local cache (a rep
// may hold 100k), virtualized and keyboard navigable like the radar. Grade
// chips, partner/content/time filters and a search box; the detail pane
// explains the grade, takes MAN flags and shows the timeline and the
// forward chain. Refreshes on `radar-changed` and on every sync status.
import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import { keyTarget, useVirtualRows } from "../listNav";
import type {
  Grade,
  LeadCursor,
  LeadSummary,
  Reason,
  Role,
  SyncStatus,
} from "../bindings";
import { EmptyState } from "../components/EmptyState";
import { formatPhone, formatWhen } from "../format";
import { useNow } from "../hooks";
import {
  GRADES,
  TIME_RANGES,
  buildQuery,
  cooling,
  gradeSlug,
  isHot,
  reasonText,
  type TimeRange,
} from "../leads";
import { LeadDetailPane } from "./LeadDetail";

const ROW_PX = 64;

type Filters = {
  grades: Grade[];
  partnerId: number | null;
  itemId: number | null;
  range: TimeRange;
  search: string;
};

const NO_FILTERS: Filters = { grades: [], partnerId: null, itemId: null, range: "all", search: "" };

/** Partners and items seen in loaded rows, for the filter menus. */
function remember(map: Map<number, string>, rows: LeadSummary[], pick: (s: LeadSummary) => [number | null, string | null]) {
  for (const r of rows) {
    const [id, name] = pick(r);
    if (id !== null && name) map.set(id, name);
  }
}

export function Leads({ status }: { role: Role; status: SyncStatus | null }) {
  const { t } = useTranslation();
  const now = useNow();
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  const [rows, setRows] = useState<LeadSummary[] | null>(null);
  const [next, setNext] = useState<LeadCursor | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [active, setActive] = useState(0);
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const [tick, setTick] = useState(0);
  const [partners] = useState(() => new Map<number, string>());
  const [items] = useState(() => new Map<number, string>());
  const loadingMore = useRef(false);
  const scrollRef = useRef<HTMLDivElement>(null);

  // Live: a sync that brought radar changes reloads the list and the detail.
  useEffect(() => {
    let unlisten: (() => void) | undefined;
    let live = true;
    void api.onRadarChanged(() => setTick((n) => n + 1)).then((u) => {
      if (live) unlisten = u;
      else u();
    });
    return () => {
      live = false;
      unlisten?.();
    };
  }, []);

  // First page for the filters (and again after each sync).
  useEffect(() => {
    let live = true;
    api
      .leads(buildQuery({ ...filters, nowMs: Date.now() }))
      .then((page) => {
        if (!live) return;
        remember(partners, page.leads, (s) => [s.lead.partner_id, s.partner_name]);
        remember(items, page.leads, (s) => [s.lead.item_id, s.item_title]);
        setRows(page.leads);
        setNext(page.next);
        setError(null);
      })
      .catch((e: ApiError) => live && setError(e));
    return () => {
      live = false;
    };
  }, [filters, status, tick, partners, items]);

  const loadMore = useCallback(() => {
    if (!next || loadingMore.current) return;
    loadingMore.current = true;
    api
      .leads({ ...buildQuery({ ...filters, nowMs: Date.now() }), after: next })
      .then((page) => {
        setRows((r) => [...(r ?? []), ...page.leads]);
        setNext(page.next);
      })
      .catch((e: ApiError) => setError(e))
      .finally(() => {
        loadingMore.current = false;
      });
  }, [next, filters]);

  const list = rows ?? [];
  const virtualizer = useVirtualRows(list.length, ROW_PX, scrollRef, loadMore);
  const visible = virtualizer.getVirtualItems();

  // The row under the keyboard: the selected lead wherever a refresh moved it.
  const found = selectedId === null ? -1 : list.findIndex((r) => r.lead.id === selectedId);
  const current = found >= 0 ? found : active;

  const select = (i: number) => {
    const row = list[i];
    if (!row) return;
    setActive(i);
    setSelectedId(row.lead.id);
    virtualizer.scrollToIndex(i);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const to = keyTarget(e.key, current, list.length);
    if (to === null) return;
    e.preventDefault();
    select(to);
  };

  const toggleGrade = (g: Grade) =>
    setFilters((f) => ({
      ...f,
      grades: f.grades.includes(g) ? f.grades.filter((x) => x !== g) : [...f.grades, g],
    }));
  const filtered =
    filters.grades.length > 0 ||
    filters.partnerId !== null ||
    filters.itemId !== null ||
    filters.range !== "all" ||
    filters.search.trim() !== "";

  return (
    <section className="main" aria-labelledby="leads-title">
      <header className="section-head">
        <h1 id="leads-title">{t("leads.title")}</h1>
        <span className="sub">{t("leads.subtitle")}</span>
      </header>
      <div className="toolbar lead-filters">
        <input
          type="search"
          className="input search"
          placeholder={t("leads.search")}
          aria-label={t("leads.search")}
          value={filters.search}
          onChange={(e) => setFilters((f) => ({ ...f, search: e.target.value }))}
          data-testid="lead-search"
        />
        <div className="chips" role="group" aria-label={t("leads.allGrades")}>
          {GRADES.map((g) => (
            <button
              key={g}
              type="button"
              className={`chip grade-chip grade-${gradeSlug(g)}`}
              aria-pressed={filters.grades.includes(g)}
              onClick={() => toggleGrade(g)}
              data-testid={`lead-grade-filter-${g}`}
            >
              {t("leads.grade", { grade: g })}
            </button>
          ))}
        </div>
        <select
          aria-label={t("leads.partnerFilter")}
          value={filters.partnerId ?? ""}
          onChange={(e) =>
            setFilters((f) => ({ ...f, partnerId: e.target.value ? Number(e.target.value) : null }))
          }
          data-testid="lead-partner-filter"
        >
          <option value="">{t("leads.anyPartner")}</option>
          {[...partners].map(([id, name]) => (
            <option key={id} value={id}>
              {name}
            </option>
          ))}
        </select>
        <select
          aria-label={t("leads.itemFilter")}
          value={filters.itemId ?? ""}
          onChange={(e) =>
            setFilters((f) => ({ ...f, itemId: e.target.value ? Number(e.target.value) : null }))
          }
          data-testid="lead-item-filter"
        >
          <option value="">{t("leads.anyItem")}</option>
          {[...items].map(([id, title]) => (
            <option key={id} value={id}>
              {title}
            </option>
          ))}
        </select>
        <select
          aria-label={t("leads.range.all")}
          value={filters.range}
          onChange={(e) => setFilters((f) => ({ ...f, range: e.target.value as TimeRange }))}
          data-testid="lead-time-filter"
        >
          {TIME_RANGES.map((r) => (
            <option key={r} value={r}>
              {t(`leads.range.${r}`)}
            </option>
          ))}
        </select>
      </div>
      <div className="split">
        <div className="list-pane" style={{ padding: 0 }}>
          {error && (
            <div className="error" role="alert">
              {t("error.generic", { message: error.message })}
            </div>
          )}
          {rows && rows.length === 0 ? (
            <EmptyState
              title={t(filtered ? "leads.emptyFilteredTitle" : "leads.emptyTitle")}
              body={t(filtered ? "leads.emptyFilteredBody" : "leads.emptyBody")}
            />
          ) : (
            <div
              ref={scrollRef}
              className="radar-list"
              role="listbox"
              aria-label={t("leads.list")}
              tabIndex={0}
              aria-activedescendant={list[current] ? `lead-${list[current].lead.id}` : undefined}
              onKeyDown={onKeyDown}
              data-testid="lead-list"
            >
              <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
                {visible.map((v) => {
                  const s = list[v.index];
                  if (!s) return null;
                  const l = s.lead;
                  return (
                    <div
                      key={l.id}
                      id={`lead-${l.id}`}
                      role="option"
                      className={`radar-row lead-row${isHot(l.grade) ? " hot" : ""}${v.index === current ? " active" : ""}`}
                      data-testid="lead-row"
                      data-lead-id={l.id}
                      data-grade={l.grade}
                      aria-selected={l.id === selectedId}
                      style={{ top: v.start, height: ROW_PX }}
                      onClick={() => select(v.index)}
                    >
                      <span className="grade-cell">
                        <span className={`grade-badge grade-${gradeSlug(l.grade)}`}>{l.grade}</span>
                        <CoolingArrow reasons={l.reasons} now={now} />
                      </span>
                      <div className="row-main">
                        <span className="row-title">
                          <strong>{l.name}</strong>
                          {s.item_title ?? ""}
                        </span>
                        <span className="row-sub">
                          {formatPhone(l.phone)} · {t("leads.via", { partner: s.partner_name })}
                        </span>
                      </div>
                      <div className="row-side">
                        <div>{formatWhen(l.updated_at_ms, now, t)}</div>
                        <div>{t(`leads.stages.${l.stage}`)}</div>
                      </div>
                    </div>
                  );
                })}
              </div>
            </div>
          )}
        </div>
        <aside className="detail-pane" aria-live="polite">
          {selectedId !== null ? (
            <LeadDetailPane id={selectedId} refresh={`${tick}-${status?.last_synced_at_ms ?? 0}`} />
          ) : (
            rows &&
            rows.length > 0 && <EmptyState title={t("leads.pickTitle")} body={t("leads.pickBody")} />
          )}
        </aside>
      </div>
    </section>
  );
}

/** "↓" beside a grade that fell for lack of activity, worded on hover. */
function CoolingArrow({ reasons, now }: { reasons: readonly Reason[]; now: number }) {
  const { t } = useTranslation();
  const c = cooling(reasons);
  if (!c) return null;
  const text = reasonText(c, t, now);
  return (
    <span className="cooling" title={text} aria-label={text} data-testid="lead-cooling">
      ↓
    </span>
  );
}
