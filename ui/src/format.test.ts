import { beforeAll, describe, expect, it } from "vitest";

import i18n from "./i18n";
import {
  formatAgo,
  formatBytes,
  formatDwell,
  formatMoney,
  formatPhone,
  formatWhen,
  type Translate,
} from "./format";

const zh: Translate = i18n.getFixedT("zh-CN");
const en: Translate = i18n.getFixedT("en");

beforeAll(async () => {
  await i18n.changeLanguage("zh-CN");
});

// Local times, so the tests hold in any time zone.
const at = (y: number, mo: number, d: number, h: number, mi: number, s = 0) =>
  new Date(y, mo - 1, d, h, mi, s).getTime();

describe("money", () => {
  it("shows integer 分 as yuan with grouping", () => {
    expect(formatMoney(123450, "zh-CN")).toBe("¥1,234.50");
    expect(formatMoney(123450, "en")).toBe("¥1,234.50");
    expect(formatMoney(0, "zh-CN")).toBe("¥0.00");
    expect(formatMoney(5, "zh-CN")).toBe("¥0.05");
    expect(formatMoney(200000, "zh-CN")).toBe("¥2,000.00");
  });
  it("keeps negative amounts (reversals)", () => {
    expect(formatMoney(-1999, "zh-CN")).toBe("-¥19.99");
  });
});

describe("bytes", () => {
  it("reads like a disk's size, whole where whole", () => {
    expect(formatBytes(5 * 1024 ** 3, "zh-CN")).toBe("5 GB");
    expect(formatBytes(1.2 * 1024 ** 3, "en")).toBe("1.2 GB");
    expect(formatBytes(300 * 1024 ** 2, "en")).toBe("300 MB");
    expect(formatBytes(600 * 1024, "en")).toBe("600 KB");
    expect(formatBytes(0, "en")).toBe("0 B");
  });
});

describe("phone", () => {
  it("groups Chinese mobiles 3-4-4", () => {
    expect(formatPhone("+8613800138000")).toBe("138 0013 8000");
  });
  it("leaves other numbers as they are", () => {
    expect(formatPhone("+14155550100")).toBe("+14155550100");
    expect(formatPhone("+861012345678")).toBe("+861012345678");
  });
});

describe("dates", () => {
  const now = at(2026, 11, 23, 18, 30);
  it("says today with the clock", () => {
    expect(formatWhen(at(2026, 11, 23, 14, 5), now, zh)).toBe("今天 14:05");
    expect(formatWhen(at(2026, 11, 23, 0, 0), now, en)).toBe("Today 00:00");
  });
  it("says yesterday", () => {
    expect(formatWhen(at(2026, 11, 22, 23, 59), now, zh)).toBe("昨天");
    expect(formatWhen(at(2026, 11, 22, 9, 7), now, zh, true)).toBe("昨天 09:07");
    expect(formatWhen(at(2026, 11, 22, 9, 7), now, en)).toBe("Yesterday");
  });
  it("then the date", () => {
    expect(formatWhen(at(2026, 11, 21, 10, 0), now, zh)).toBe("2026-11-21");
    expect(formatWhen(at(2025, 1, 3, 10, 0), now, en)).toBe("2025-01-03");
    expect(formatWhen(at(2025, 1, 3, 10, 0), now, en, true)).toBe("2025-01-03 10:00");
  });
  it("counts calendar days, not 24-hour spans", () => {
    const justAfterMidnight = at(2026, 11, 23, 0, 10);
    expect(formatWhen(at(2026, 11, 22, 23, 50), justAfterMidnight, zh)).toBe("昨天");
  });
  it("says how long ago the last sync was", () => {
    expect(formatAgo(now - 20_000, now, zh)).toBe("刚刚");
    expect(formatAgo(now - 2 * 60_000, now, zh)).toBe("2 分钟前");
    expect(formatAgo(now - 60_000, now, en)).toBe("1 min ago");
    expect(formatAgo(now - 3 * 3_600_000, now, en)).toBe("3 hours ago");
  });
});

describe("dwell", () => {
  it("reads like 2分10秒", () => {
    expect(formatDwell(130_000, zh)).toBe("2分10秒");
    expect(formatDwell(130_000, en)).toBe("2 min 10 s");
  });
  it("seconds alone under a minute, rounded", () => {
    expect(formatDwell(44_600, zh)).toBe("45秒");
    expect(formatDwell(0, zh)).toBe("0秒");
    expect(formatDwell(-5, zh)).toBe("0秒");
  });
  it("hours and minutes past an hour", () => {
    expect(formatDwell(3_900_000, zh)).toBe("1小时5分");
  });
});
