// The lead detail pane: grade badge with its reasons, MAN toggles, stage,
// timeline of visits and signals, and the forward chain as a small tree.
import { useTranslation } from "react-i18next";

import { api, type ApiError } from "../api";
import type { ChainNode } from "../bindings";
import { formatPhone, formatWhen, type Translate } from "../format";
import { useLoad, useNow } from "../hooks";
import {
  MAN_KEYS,
  cooling,
  gradeSlug,
  manField,
  reasonText,
  timeline,
  toggleMan,
} from "../leads";

function Chain({ node, partner, t }: { node: ChainNode; partner: string; t: Translate }) {
  const label =
    node.depth === 0
      ? t("leads.chainRoot", { partner })
      : t("leads.chainVisitor", { code: node.visitor_code ?? "" });
  return (
    <li>
      <span className={node.is_lead_share ? "chain-node lead-share" : "chain-node"}>
        {label}
        {node.is_lead_share && <em> · {t("leads.chainLead")}</em>}
      </span>
      {node.children.length > 0 && (
        <ul>
          {node.children.map((c) => (
            <Chain key={c.token} node={c} partner={partner} t={t} />
          ))}
        </ul>
      )}
    </li>
  );
}

export function LeadDetailPane({ id, refresh }: { id: number; refresh: string }) {
  const { t } = useTranslation();
  const now = useNow();
  const {
    data: detail,
    error,
    setData: setDetail,
    setError,
  } = useLoad(() => api.leadDetail(id), [id, refresh]);

  if (error) {
    return (
      <div className="error" role="alert">
        {t("error.generic", { message: error.message })}
      </div>
    );
  }
  if (!detail || detail.summary.lead.id !== id) return null;
  const s = detail.summary;
  const l = s.lead;

  const toggle = (key: (typeof MAN_KEYS)[number]) => {
    api
      .setManFlags(l.id, toggleMan(l.man, key))
      .then((summary) => setDetail({ ...detail, summary }))
      .catch((e: ApiError) => setError(e));
  };

  const lines = timeline(detail.visits, detail.timeline, t);

  return (
    <div className="detail lead-detail" data-testid="lead-detail">
      <h2>
        <span className={`grade-badge big grade-${gradeSlug(l.grade)}`} data-testid="lead-grade">
          {l.grade}
        </span>
        {cooling(l.reasons) && (
          <span className="cooling" aria-hidden="true">
            ↓
          </span>
        )}
        {l.name}
      </h2>
      <h3>{t("leads.why", { grade: l.grade })}</h3>
      {l.reasons.length === 0 ? (
        <p className="muted">{t("leads.noReasons")}</p>
      ) : (
        <ul className="reasons" data-testid="lead-reasons">
          {l.reasons.map((r) => (
            <li key={r.code}>
              <span>{reasonText(r, t)}</span>
              {r.points > 0 && <span className="points">{t("leads.points", { points: r.points })}</span>}
            </li>
          ))}
        </ul>
      )}
      <h3>{t("leads.man")}</h3>
      <div className="chips" role="group" aria-label={t("leads.man")}>
        {MAN_KEYS.map((k) => (
          <button
            key={k}
            type="button"
            className="chip man-chip"
            aria-pressed={l.man[manField(k)]}
            onClick={() => toggle(k)}
            data-testid={`lead-man-${k}`}
          >
            {t(`leads.man${k.toUpperCase()}`)}
          </button>
        ))}
      </div>
      <p className="muted small">{s.man_pending ? t("leads.manPending") : t("leads.manHint")}</p>
      <dl className="dl">
        <dt>{t("leads.stage")}</dt>
        <dd>{t(`leads.stages.${l.stage}`)}</dd>
        <dt>{t("leads.phone")}</dt>
        <dd>{formatPhone(l.phone)}</dd>
        <dt>{t("leads.partner")}</dt>
        <dd>{s.partner_name}</dd>
        {s.item_title && (
          <>
            <dt>{t("leads.item")}</dt>
            <dd>{s.item_title}</dd>
          </>
        )}
        {l.note && (
          <>
            <dt>{t("leads.note")}</dt>
            <dd>{l.note}</dd>
          </>
        )}
        <dt>{t("leads.created")}</dt>
        <dd>{formatWhen(l.created_at_ms, now, t, true)}</dd>
      </dl>
      <h3>{t("leads.timelineTitle")}</h3>
      {lines.length === 0 ? (
        <p className="muted">{t("leads.noTimeline")}</p>
      ) : (
        <ol className="timeline" data-testid="lead-timeline">
          {lines.map((e) => (
            <li key={e.key}>
              <time>{formatWhen(e.at_ms, now, t, true)}</time> {e.text}
            </li>
          ))}
        </ol>
      )}
      <h3>{t("leads.chain")}</h3>
      {detail.chain ? (
        <ul className="chain" data-testid="lead-chain">
          <Chain node={detail.chain} partner={s.partner_name} t={t} />
        </ul>
      ) : (
        <p className="muted">{t("leads.noChain")}</p>
      )}
    </div>
  );
}
