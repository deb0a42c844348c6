import { beforeAll, describe, expect, it } from "vitest";

import i18n from "./i18n";
import type { Reason, Signal, VisitStats } from "./bindings";
import type { Translate } from "./format";
import {
  buildQuery,
  cooling,
  gradeSlug,
  idleDays,
  isHot,
  reasonText,
  sinceMs,
  timeline,
  toggleMan,
} from "./leads";

const tz: Translate = i18n.getFixedT("zh-CN");
const te: Translate = i18n.getFixedT("en");

beforeAll(async () => {
  await i18n.changeLanguage("zh-CN");
});

describe("leads helpers", () => {
  it("slugs and hot grades", () => {
    expect(gradeSlug("A+")).toBe("aplus");
    expect(gradeSlug("C")).toBe("c");
    expect(isHot("A")).toBe(true);
    expect(isHot("B")).toBe(false);
  });

  it("words every reason code in both languages", () => {
    const codes: Reason["code"][] = [
      "left_contact", "direct_referral", "forwarded", "repeat_visits", "watched_video",
      "read_deep", "long_dwell", "viewed", "man_money", "man_authority", "man_need", "decayed",
      "cooling",
    ];
    for (const code of codes) {
      const r: Reason = { code, value: 3, points: 10 };
      for (const t of [tz, te]) {
        const text = reasonText(r, t);
        expect(text).not.toContain("leads.reason");
        expect(text).not.toContain("{{");
      }
    }
    expect(reasonText({ code: "read_deep", value: 80, points: 15 }, tz)).toContain("80");
    expect(reasonText({ code: "long_dwell", value: 130, points: 5 }, te)).toContain("2 min");
  });

  it("words cooling from the last signal's time, so the days stay true offline", () => {
    const day = 86_400_000;
    const now = 1_800_000_000_000;
    const r: Reason = { code: "cooling", value: now - 12 * day - 5, points: 0 };
    expect(reasonText(r, te, now)).toBe("Cooling: no activity for 12 days");
    expect(reasonText(r, tz, now + 3 * day)).toContain("15 天");
    expect(idleDays(now + day, now)).toBe(0);
    expect(cooling([{ code: "viewed", value: 1, points: 5 }, r])).toEqual(r);
    expect(cooling([])).toBeUndefined();
  });

  it("time ranges", () => {
    expect(sinceMs("all", 1e12)).toBeNull();
    expect(sinceMs("7d", 1e12)).toBe(1e12 - 7 * 86_400_000);
  });

  it("toggles one MAN flag", () => {
    const man = { money: false, authority: true, need: false };
    expect(toggleMan(man, "m")).toEqual({ money: true, authority: true, need: false });
    expect(toggleMan(man, "a")).toEqual({ money: false, authority: false, need: false });
  });

  it("builds the first page's query", () => {
    const q = buildQuery({
      grades: ["A+", "A"], partnerId: 3, itemId: null, range: "all", search: "  王 ", nowMs: 0,
    });
    expect(q).toEqual({
      grades: ["A+", "A"], partner_id: 3, item_id: null, since_ms: null, search: "王",
      after: null, limit: 100,
    });
    expect(buildQuery({ grades: [], partnerId: null, itemId: null, range: "1d", search: "", nowMs: 0 }).search).toBeNull();
  });

  it("merges visits and signals oldest first, worded", () => {
    const v: VisitStats = {
      visit_id: 1, share_token: "t", root_token: "t", item_id: 1, partner_id: 1, rep_id: null,
      visitor_id: "x", opened_at_ms: 100, last_seen_at_ms: 200, dwell_ms: 40_000, scroll_pct: 80,
      video_pct: 0, visit_no: 1, page_views: 1,
    };
    const s: Signal = {
      id: 9, share_token: "t", visit_id: 1, visitor_id: "x", kind: "contact", value: 5,
      at_ms: 150, partner_id: 1, item_id: 1, lead_id: 5,
    };
    const lines = timeline([v], [s], tz);
    expect(lines.map((l) => l.key)).toEqual(["v1", "s9"]);
    expect(lines[0]?.text).toContain("80");
    for (const l of timeline([v], [s], te)) expect(l.text).not.toContain("leads.timeline");
  });
});
