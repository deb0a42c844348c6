// 雷达: who opened which share, newest first, refreshed on every sync. The
// list is virtualized (a rep may see thousands of visits) and keyboard
// navigable: the list takes focus, arrows move the active row, and the
// detail pane shows it.
import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import { keyTarget, useVirtualRows } from "../listNav";
import type { RadarEntry, Role, SyncStatus } from "../bindings";
import { EmptyState } from "../components/EmptyState";
import { formatDwell, formatWhen, type Translate } from "../format";
import { useNow } from "../hooks";
import { gradeSlug, isHot } from "../leads";

const LIMIT = 5000;
const ROW_PX = 64;

function via(e: RadarEntry, t: Translate): string {
  return e.channel
    ? t("radar.viaChannel", {
        partner: e.partner_name,
        channel: t(`share.channels.${e.channel}`),
      })
    : t("radar.via", { partner: e.partner_name });
}

function dwell(e: RadarEntry, t: Translate): string {
  return e.dwell_ms > 0
    ? t("radar.read", { dwell: formatDwell(e.dwell_ms, t) })
    : t("radar.justOpened");
}

export function Radar({ role, status }: { role: Role; status: SyncStatus | null }) {
  const { t } = useTranslation();
  const now = useNow();
  const [rows, setRows] = useState<RadarEntry[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [active, setActive] = useState(0);
  const [selectedId, setSelectedId] = useState<number | null>(null);
  const scrollRef = useRef<HTMLDivElement>(null);

  // Every sync-status event is a new object: reload then.
  useEffect(() => {
    let live = true;
    api
      .radar(LIMIT)
      .then((r) => {
        if (!live) return;
        setRows(r);
        setError(null);
      })
      .catch((e: ApiError) => live && setError(e));
    return () => {
      live = false;
    };
  }, [status]);

  const list = rows ?? [];
  const virtualizer = useVirtualRows(list.length, ROW_PX, scrollRef);

  const select = (i: number) => {
    const row = list[i];
    if (!row) return;
    setActive(i);
    setSelectedId(row.visit_id);
    virtualizer.scrollToIndex(i);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const to = keyTarget(e.key, active, list.length);
    if (to === null) return;
    e.preventDefault();
    select(to);
  };

  const selected = list.find((r) => r.visit_id === selectedId) ?? null;
  const partner = role === "partner";

  return (
    <section className="main" aria-labelledby="radar-title">
      <header className="section-head">
        <h1 id="radar-title">{t("radar.title")}</h1>
        <span className="sub">{t("radar.subtitle")}</span>
      </header>
      <div className="split">
        <div className="list-pane" style={{ padding: 0 }}>
          {error && (
            <div className="error" role="alert">
              {t("error.generic", { message: error.message })}
            </div>
          )}
          {rows && rows.length === 0 ? (
            <EmptyState
              title={t(partner ? "radar.emptyTitlePartner" : "radar.emptyTitleRep")}
              body={t(partner ? "radar.emptyBodyPartner" : "radar.emptyBodyRep")}
            />
          ) : (
            <div
              ref={scrollRef}
              className="radar-list"
              role="listbox"
              aria-label={t("radar.list")}
              tabIndex={0}
              aria-activedescendant={list[active] ? `visit-${list[active].visit_id}` : undefined}
              onKeyDown={onKeyDown}
              data-testid="radar-list"
            >
              <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
                {virtualizer.getVirtualItems().map((v) => {
                  const e = list[v.index];
                  if (!e) return null;
                  return (
                    <div
                      key={e.visit_id}
                      id={`visit-${e.visit_id}`}
                      role="option"
                      className={`radar-row${e.lead_grade && isHot(e.lead_grade) ? " hot" : ""}${v.index === active ? " active" : ""}`}
                      data-testid="radar-row"
                      data-grade={e.lead_grade ?? undefined}
                      data-visit-id={e.visit_id}
                      aria-selected={e.visit_id === selectedId}
                      style={{ top: v.start, height: ROW_PX }}
                      onClick={() => select(v.index)}
                    >
                      <div className="row-main">
                        <span className="row-title">
                          {e.lead_grade && (
                            <span className={`grade-badge small grade-${gradeSlug(e.lead_grade)}`}>
                              {e.lead_grade}
                            </span>
                          )}
                          <strong>{t("radar.visitor", { code: e.visitor_id })}</strong>
                          {e.item_title}
                        </span>
                        <span className="row-sub">{via(e, t)}</span>
                      </div>
                      <div className="row-side">
                        <div>{formatWhen(e.opened_at_ms, now, t)}</div>
                        <div data-testid="radar-dwell">{dwell(e, t)}</div>
                      </div>
                    </div>
                  );
                })}
              </div>
            </div>
          )}
        </div>
        <aside className="detail-pane" aria-live="polite">
          {selected ? (
            <div className="detail" data-testid="radar-detail">
              <h2>{t("radar.visitor", { code: selected.visitor_id })}</h2>
              <dl className="dl">
                <dt>{t("radar.detailItem")}</dt>
                <dd>
                  {selected.item_title}
                  {selected.item_kind && (
                    <span className="kind-chip" style={{ marginLeft: 8 }}>
                      {t(`kind.${selected.item_kind}`)}
                    </span>
                  )}
                </dd>
                <dt>{t("radar.detailPartner")}</dt>
                <dd>{selected.partner_name}</dd>
                <dt>{t("radar.detailChannel")}</dt>
                <dd>
                  {selected.channel
                    ? t(`share.channels.${selected.channel}`)
                    : t("radar.unknownChannel")}
                </dd>
                <dt>{t("radar.detailOpened")}</dt>
                <dd>{formatWhen(selected.opened_at_ms, now, t, true)}</dd>
                <dt>{t("radar.detailDwell")}</dt>
                <dd>{formatDwell(selected.dwell_ms, t)}</dd>
              </dl>
            </div>
          ) : (
            rows &&
            rows.length > 0 && (
              <EmptyState title={t("radar.pickTitle")} body={t("radar.pickBody")} />
            )
          )}
        </aside>
      </div>
    </section>
  );
}
