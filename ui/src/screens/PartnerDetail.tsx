// The partner detail pane: activity numbers, stage with its rule in words,
// when they joined, where they came from and who invited them.
import { useTranslation } from "react-i18next";

import { api } from "../api";
import { formatCount, formatDaysAgo, formatPhone, formatWhen } from "../format";
import { useLoad, useNow } from "../hooks";
import { stageRule } from "../partners";

export function PartnerDetailPane({ id, refresh }: { id: number; refresh: string }) {
  const { t, i18n } = useTranslation();
  const now = useNow();
  const { data: detail, error } = useLoad(() => api.partnerDetail(id), [id, refresh]);

  if (error) {
    return (
      <div className="error" role="alert">
        {t("error.generic", { message: error.message })}
      </div>
    );
  }
  if (!detail || detail.summary.partner.id !== id) return null;
  const { partner: p, activity: a, stage } = detail.summary;
  const inv = detail.invitation;
  // "今天 14:05" / "昨天 09:07" say it all; older ones get "12 天前（2026-11-11 10:00）".
  const lastShare = (ms: number) => {
    const days = (now - ms) / 86_400_000;
    return days < 2
      ? formatWhen(ms, now, t, true)
      : t("partners.detail.lastShareWhen", {
          ago: formatDaysAgo(ms, now, t),
          when: formatWhen(ms, now, t, true),
        });
  };

  return (
    <div className="detail partner-detail" data-testid="partner-detail">
      <h2>{p.name}</h2>
      <p className="stage-line">
        <span className={`stage-badge stage-${stage}`} data-testid="partner-stage">
          {t(`partners.stage.${stage}`)}
        </span>
        <span className="muted">{stageRule(stage, t)}</span>
      </p>
      <div className="stat-boxes" aria-label={t("partners.detail.activity")}>
        {(["shares", "views", "leads", "deals"] as const).map((k) => (
          <div key={k} className="stat-box">
            <b>{formatCount(a[k], i18n.language)}</b>
            <span>{t(`partners.stat.${k}`)}</span>
          </div>
        ))}
      </div>
      <dl className="dl">
        <dt>{t("partners.detail.lastShare")}</dt>
        <dd>
          {a.last_share_at_ms === null ? t("partners.neverShared") : lastShare(a.last_share_at_ms)}
        </dd>
        <dt>{t("partners.detail.phone")}</dt>
        <dd>{p.phone ? formatPhone(p.phone) : t("partners.noPhone")}</dd>
        <dt>{t("partners.detail.joined")}</dt>
        <dd>{formatWhen(p.joined_at_ms, now, t, true)}</dd>
        <dt>{t("partners.detail.source")}</dt>
        <dd>{t(`partners.source.${p.source ?? "unknown"}`)}</dd>
        {detail.invited_by_name && (
          <>
            <dt>{t("partners.detail.invitedBy")}</dt>
            <dd>{detail.invited_by_name}</dd>
          </>
        )}
        {inv && (
          <>
            <dt>{t("partners.detail.invitation")}</dt>
            <dd>
              {t("partners.detail.invitationText", {
                channel: t(`invite.channel.${inv.channel}`),
                code: inv.short_code,
                when: formatWhen(inv.created_at_ms, now, t, true),
              })}
            </dd>
          </>
        )}
      </dl>
    </div>
  );
}
