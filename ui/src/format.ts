// How numbers, money, phones, times and durations look. Pure functions; the
// words come from i18n (`t`), so nothing here concatenates sentences.

import type { TFunction } from "i18next";

/** i18next's `t`, for the words around numbers. */
export type Translate = TFunction;

/** Integer 分 as ¥1,234.50, grouped for `lang`. */
export function formatMoney(cents: number, lang: string): string {
  return new Intl.NumberFormat(lang, {
    style: "currency",
    currency: "CNY",
    currencyDisplay: "narrowSymbol",
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  }).format(cents / 100);
}

/** E.164 for people: Chinese mobiles as 138 0013 8000, others unchanged. */
export function formatPhone(e164: string): string {
  const cn = /^\+86(1\d{2})(\d{4})(\d{4})$/.exec(e164);
  if (cn) return `${cn[1]} ${cn[2]} ${cn[3]}`;
  return e164;
}

// Building an Intl.NumberFormat costs far more than using one, and long
// lists format thousands of counts while scrolling.
const countFormats = new Map<string, Intl.NumberFormat>();

/** A count grouped for `lang` (12,345). */
export function formatCount(n: number, lang: string): string {
  let f = countFormats.get(lang);
  if (!f) {
    f = new Intl.NumberFormat(lang);
    countFormats.set(lang, f);
  }
  return f.format(n);
}

const pad2 = (n: number) => String(n).padStart(2, "0");

function localDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

function clock(d: Date): string {
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

function isoDate(d: Date): string {
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}

/**
 * A moment in local time: "今天 14:05", "昨天", then 2026-11-23.
 * `withTime` adds the clock to yesterday and older dates (detail panes).
 */
export function formatWhen(
  ms: number,
  nowMs: number,
  t: Translate,
  withTime = false,
): string {
  const d = new Date(ms);
  const days = Math.round((localDay(new Date(nowMs)) - localDay(d)) / 86_400_000);
  if (days <= 0 && days > -1) return t("time.today", { time: clock(d) });
  if (days === 1) {
    return withTime ? t("time.yesterdayAt", { time: clock(d) }) : t("time.yesterday");
  }
  return withTime ? `${isoDate(d)} ${clock(d)}` : isoDate(d);
}

/** How long someone stayed: "2分10秒", "45秒", "1小时5分". */
export function formatDwell(ms: number, t: Translate): string {
  const total = Math.max(0, Math.round(ms / 1000));
  if (total < 60) return t("dwell.seconds", { s: total });
  if (total < 3600) {
    return t("dwell.minutes", { m: Math.floor(total / 60), s: total % 60 });
  }
  return t("dwell.hours", {
    h: Math.floor(total / 3600),
    m: Math.floor((total % 3600) / 60),
  });
}

/** "刚刚", "2 分钟前", "3 小时前", then a date: for the sync tooltip. */
export function formatAgo(ms: number, nowMs: number, t: Translate): string {
  const minutes = Math.floor((nowMs - ms) / 60_000);
  if (minutes < 1) return t("sync.justNow");
  if (minutes < 60) return t("sync.minutesAgo", { count: minutes });
  if (minutes < 24 * 60) return t("sync.hoursAgo", { count: Math.floor(minutes / 60) });
  return formatWhen(ms, nowMs, t, true);
}

/** Calendar days (local time) from `ms` to `nowMs`: 0 today, 1 yesterday. */
export function daysSince(ms: number, nowMs: number): number {
  return Math.round((localDay(new Date(nowMs)) - localDay(new Date(ms))) / 86_400_000);
}

/** Calendar days since `ms` for lists: "今天", "昨天", "3 天前". */
export function formatDaysAgo(ms: number, nowMs: number, t: Translate): string {
  const days = daysSince(ms, nowMs);
  if (days <= 0) return t("days.today");
  if (days === 1) return t("days.yesterday");
  return t("days.ago", { count: days });
}

/** A size in bytes as people read it: "1.2 GB", "300 MB" (1024-based, as
 *  the server's quota setting is in MiB). */
export function formatBytes(n: number, lang: string): string {
  const units = ["KB", "MB", "GB", "TB"];
  if (n < 1024) return `${formatCount(n, lang)} B`;
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit + 1 < units.length) {
    value /= 1024;
    unit += 1;
  }
  // Whole numbers and large ones without a decimal: "5 GB", "300 MB", "1.2 GB".
  const digits = value >= 100 || Math.abs(value - Math.round(value)) < 0.05 ? 0 : 1;
  const shown = new Intl.NumberFormat(lang, {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  }).format(value);
  return `${shown} ${units[unit]}`;
}
