import { describe, expect, it } from "vitest";

import type {
  ImportColumn,
  ImportFileError,
  ImportReason,
  PartnerPage,
  PartnerQuery,
  PartnerStage,
  PartnerSummary,
} from "./bindings";
import { formatDaysAgo, formatPhone, type Translate } from "./format";
import i18n from "./i18n";
import {
  PARTNER_FILTERS,
  buildPartnerQuery,
  bytesToBase64,
  exportFileName,
  importColumnText,
  importFileErrorText,
  importReasonText,
  loadRows,
  stageRule,
} from "./partners";

const zh: Translate = i18n.getFixedT("zh-CN");
const en: Translate = i18n.getFixedT("en");

// Records keyed by the generated unions: adding a variant in Rust breaks
// this file until the new value has words.
const REASONS: Record<ImportReason, true> = {
  bad_phone: true,
  missing_name: true,
  missing_phone: true,
  duplicate_phone: true,
  too_long: true,
  too_many_columns: true,
  formula: true,
  control_character: true,
};
const FILE_ERRORS: Record<ImportFileError, true> = {
  empty: true,
  too_large: true,
  too_many_rows: true,
  unreadable_workbook: true,
  workbook_too_large: true,
  not_text: true,
  missing_header: true,
  no_rows: true,
};
const STAGES: Record<PartnerStage, true> = { new: true, active: true, dormant: true, churned: true };

/** A translation that fell back to its key (missing) still contains the key path. */
const worded = (s: string) => !/^(import|partners)\./.test(s) && !s.includes("{{");

describe("import problems in words", () => {
  it("words every row reason in both languages, distinctly", () => {
    for (const t of [zh, en]) {
      const texts = Object.keys(REASONS).map((r) =>
        importReasonText({ reason: r as ImportReason, duplicate_of: null }, t),
      );
      for (const s of texts) expect(worded(s), s).toBe(true);
      expect(new Set(texts).size).toBe(texts.length);
    }
  });

  it("names the earlier row of a duplicate, or says it is already a partner", () => {
    expect(importReasonText({ reason: "duplicate_phone", duplicate_of: 2 }, zh)).toBe(
      "与第 2 行的手机号重复",
    );
    expect(importReasonText({ reason: "duplicate_phone", duplicate_of: 17 }, en)).toBe(
      "Same phone as row 17",
    );
    expect(importReasonText({ reason: "duplicate_phone", duplicate_of: null }, zh)).toBe(
      "这个手机号已经在公司里了（已是合伙人或同事）",
    );
  });

  it("words every whole-file refusal with what to do", () => {
    for (const t of [zh, en]) {
      const texts = Object.keys(FILE_ERRORS).map((e) => importFileErrorText(e as ImportFileError, t));
      for (const s of texts) expect(worded(s), s).toBe(true);
      expect(new Set(texts).size).toBe(texts.length);
    }
    expect(importFileErrorText("unreadable_workbook", zh)).toContain("另存为 .xlsx");
    expect(importFileErrorText("workbook_too_large", zh)).toContain("解压后超过 64 MB");
    expect(importFileErrorText("workbook_too_large", en)).toContain("more than 640,064 cells");
  });

  it("names columns, and the whole row when there is none", () => {
    const cols: (ImportColumn | null)[] = ["name", "phone", "note", null];
    expect(cols.map((c) => importColumnText(c, zh))).toEqual(["姓名", "手机", "备注", "整行"]);
    expect(importColumnText(null, en)).toBe("Whole row");
  });

  it("counts with grouping and plurals", () => {
    expect(zh("import.confirm", { count: 10000 })).toBe("导入 10,000 位合伙人");
    expect(en("import.confirm", { count: 1 })).toBe("Import 1 partner");
    expect(en("import.confirm", { count: 2500 })).toBe("Import 2,500 partners");
  });
});

describe("partner stages", () => {
  it("says the rule behind each stage", () => {
    expect(stageRule("dormant", zh)).toBe("30 天没有分享");
    expect(stageRule("churned", zh)).toBe("90 天没有任何分享");
    expect(stageRule("new", zh)).toBe("加入不到 14 天，还没有分享");
    expect(stageRule("active", en)).toBe("Shared within the last 30 days");
    expect(stageRule("dormant", en, { new_for_days: 7, dormant_after_days: 1, churned_after_days: 60 })).toBe(
      "No share for 1 day",
    );
    for (const s of Object.keys(STAGES) as PartnerStage[]) {
      expect(worded(stageRule(s, en))).toBe(true);
      expect(worded(zh(`partners.stage.${s}`))).toBe(true);
    }
  });

  it("has a chip label for every filter", () => {
    expect(PARTNER_FILTERS.map((f) => zh(`partners.filter.${f}`))).toEqual([
      "全部",
      "活跃",
      "沉睡",
      "从未分享",
      "新加入",
      "流失",
    ]);
  });
});

describe("partner query", () => {
  it("sends no filter for 全部 and no blank search", () => {
    expect(buildPartnerQuery("all", "  ")).toEqual({ search: null, filter: null, after: null, limit: 100 });
    expect(buildPartnerQuery("never_shared", " 王 ")).toEqual({
      search: "王",
      filter: "never_shared",
      after: null,
      limit: 100,
    });
  });
});

describe("display helpers", () => {
  it("shows phones as 138 0013 8000", () => {
    expect(formatPhone("+8613800138000")).toBe("138 0013 8000");
    expect(formatPhone("+8619912345678")).toBe("199 1234 5678");
  });

  it("says how long ago a partner last shared, in calendar days", () => {
    const now = new Date(2026, 10, 23, 9, 0).getTime();
    expect(formatDaysAgo(new Date(2026, 10, 23, 0, 5).getTime(), now, zh)).toBe("今天");
    expect(formatDaysAgo(new Date(2026, 10, 22, 23, 59).getTime(), now, zh)).toBe("昨天");
    expect(formatDaysAgo(new Date(2026, 10, 20, 10, 0).getTime(), now, zh)).toBe("3 天前");
    expect(formatDaysAgo(new Date(2026, 9, 24, 10, 0).getTime(), now, en)).toBe("30 days ago");
    expect(formatDaysAgo(now + 60_000, now, en)).toBe("Today");
  });

  it("names the export after the local date", () => {
    expect(exportFileName(new Date(2026, 0, 5, 23, 30).getTime())).toBe("warmlead-partners-2026-01-05.csv");
  });

  it("base64-encodes file bytes like the standard alphabet, also past 32 KiB", () => {
    const gbk = new Uint8Array([0xd5, 0xc5, 0xc8, 0xfd, 0x2c, 0x31, 0x33, 0x38, 0xff, 0x00]);
    expect(bytesToBase64(gbk)).toBe(Buffer.from(gbk).toString("base64"));
    const big = new Uint8Array(100_000).map((_, i) => (i * 31) % 256);
    expect(bytesToBase64(big.buffer)).toBe(Buffer.from(big).toString("base64"));
    expect(bytesToBase64(new Uint8Array())).toBe("");
  });
});

/** A keyset-paged list of `n` partners (newest share first), recording each call. */
function pagedList(n: number) {
  const all: PartnerSummary[] = Array.from({ length: n }, (_, i) => ({
    partner: {
      id: n - i,
      company_id: 1,
      role: "partner",
      name: `合伙人${n - i}`,
      phone: null,
      rep_id: 2,
      joined_at_ms: 0,
      source: "import",
      invited_by: 2,
      invitation_id: null,
    },
    activity: { shares: 1, views: 0, leads: 0, deals: 0, last_share_at_ms: 1000 * (n - i) },
    stage: "active",
  }));
  const calls: PartnerQuery[] = [];
  const fetchPage = async (q: PartnerQuery): Promise<PartnerPage> => {
    calls.push(q);
    const from = q.after ? all.findIndex((s) => s.partner.id === q.after?.id) + 1 : 0;
    const page = all.slice(from, from + (q.limit ?? 100));
    const last = page[page.length - 1];
    const more = from + page.length < all.length;
    return {
      partners: page,
      next: more && last ? { sort_key: last.activity.last_share_at_ms ?? 0, id: last.partner.id } : null,
    };
  };
  return { fetchPage, calls };
}

describe("reloading a long list after a sync", () => {
  const q = buildPartnerQuery("all", "");

  it("fetches one first page when nothing was loaded", async () => {
    const { fetchPage, calls } = pagedList(10_000);
    const page = await loadRows(fetchPage, q, 0);
    expect(page.partners).toHaveLength(100);
    expect(page.next).toEqual({ sort_key: 9_901_000, id: 9901 });
    expect(calls).toHaveLength(1);
  });

  it("reloads as many rows as the list held, in pages of at most 500, in order", async () => {
    const { fetchPage, calls } = pagedList(10_000);
    const page = await loadRows(fetchPage, q, 1_234);
    expect(page.partners).toHaveLength(1_234);
    expect(calls.map((c) => c.limit)).toEqual([500, 500, 234]);
    const ids = page.partners.map((s) => s.partner.id);
    expect(ids[0]).toBe(10_000);
    expect(ids[1_233]).toBe(10_000 - 1_233);
    expect(new Set(ids).size).toBe(ids.length);
    expect(page.next?.id).toBe(10_000 - 1_233);
  });

  it("stops at the end of a shorter list", async () => {
    const { fetchPage } = pagedList(150);
    const page = await loadRows(fetchPage, q, 400);
    expect(page.partners).toHaveLength(150);
    expect(page.next).toBeNull();
  });
});
