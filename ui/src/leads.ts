// Pure helpers of the Leads section: grade order and colours, reason and
// timeline wording, time filter ranges. Kept out of the component so vitest
// can check them.
import type { Grade, LeadQuery, ManFlags, Reason, Signal, VisitStats } from "./bindings";
import { formatDwell, type Translate } from "./format";

/** Hottest first, as the filter chips show them. */
export const GRADES: readonly Grade[] = ["A+", "A", "B", "C"];

/** A CSS-safe token of a grade for class names and test ids ("A+" -> "aplus"). */
export function gradeSlug(g: Grade): string {
  return g === "A+" ? "aplus" : g.toLowerCase();
}

export function isHot(g: Grade): boolean {
  return g === "A+" || g === "A";
}

const DAY_MS = 24 * 3600 * 1000;

/** The reason a lead has its grade, worded from its code and value. */
export function reasonText(r: Reason, t: Translate, nowMs: number = Date.now()): string {
  if (r.code === "cooling") {
    // Its value is the time of the last signal, so the days stay true offline.
    const count = idleDays(r.value, nowMs);
    return t("leads.reason.cooling", { count });
  }
  const value =
    r.code === "long_dwell" ? formatDwell(r.value * 1000, t) : String(r.value);
  return t(`leads.reason.${r.code}`, { value, count: r.value });
}

/** Whole days since `lastMs` (never negative). */
export function idleDays(lastMs: number, nowMs: number): number {
  return Math.max(0, Math.floor((nowMs - lastMs) / DAY_MS));
}

/** The lead's cooling reason when its grade fell for lack of activity. */
export function cooling(reasons: readonly Reason[]): Reason | undefined {
  return reasons.find((r) => r.code === "cooling");
}

export type TimeRange = "all" | "1d" | "7d" | "30d";
export const TIME_RANGES: readonly TimeRange[] = ["all", "1d", "7d", "30d"];

/** The `since_ms` of a time filter, relative to `nowMs`. */
export function sinceMs(range: TimeRange, nowMs: number): number | null {
  const day = 24 * 3600 * 1000;
  switch (range) {
    case "all":
      return null;
    case "1d":
      return nowMs - day;
    case "7d":
      return nowMs - 7 * day;
    case "30d":
      return nowMs - 30 * day;
  }
}

/** One line of the detail timeline: a visit or a signal, with its time. */
export type TimelineEntry = { at_ms: number; key: string; text: string };

/** Visits and signals merged, oldest first, each worded for the timeline. */
export function timeline(
  visits: readonly VisitStats[],
  signals: readonly Signal[],
  t: Translate,
): TimelineEntry[] {
  const out: TimelineEntry[] = visits.map((v) => ({
    at_ms: v.opened_at_ms,
    key: `v${v.visit_id}`,
    text: t("leads.timeline.visit", {
      no: v.visit_no,
      dwell: formatDwell(v.dwell_ms, t),
      scroll: v.scroll_pct,
    }),
  }));
  for (const s of signals) {
    out.push({
      at_ms: s.at_ms,
      key: `s${s.id}`,
      text: t(`leads.timeline.${s.kind}`, { value: s.value }),
    });
  }
  return out.sort((a, b) => a.at_ms - b.at_ms || a.key.localeCompare(b.key));
}

export type ManKey = "m" | "a" | "n";
export const MAN_KEYS: readonly ManKey[] = ["m", "a", "n"];
const MAN_FIELD: Record<ManKey, keyof ManFlags> = { m: "money", a: "authority", n: "need" };

/** The flags with one of Money / Authority / Need switched. */
export function toggleMan(man: ManFlags, key: ManKey): ManFlags {
  const field = MAN_FIELD[key];
  return { ...man, [field]: !man[field] };
}

export function manField(key: ManKey): keyof ManFlags {
  return MAN_FIELD[key];
}

/** The query of the list's current filters (first page). */
export function buildQuery(f: {
  grades: readonly Grade[];
  partnerId: number | null;
  itemId: number | null;
  range: TimeRange;
  search: string;
  nowMs: number;
}): LeadQuery {
  const search = f.search.trim();
  return {
    grades: [...f.grades],
    partner_id: f.partnerId,
    item_id: f.itemId,
    since_ms: sinceMs(f.range, f.nowMs),
    search: search === "" ? null : search,
    after: null,
    limit: 100,
  };
}
