import { describe, expect, it } from "vitest";

import type { ChannelConversion, Invitation, SmsInviteItem, SmsRefusal } from "./bindings";
import { LIMITS } from "./bindings/Limits";
import type { Translate } from "./format";
import i18n from "./i18n";
import {
  canRevoke,
  conversionRate,
  formatPercent,
  invitationStatusAt,
  isUnsynced,
  parseRecipients,
  refusalText,
  sampleText,
  smsPlanText,
  usesText,
  withoutLine,
} from "./invite";

const zh: Translate = i18n.getFixedT("zh-CN");
const en: Translate = i18n.getFixedT("en");

describe("recipients from pasted text", () => {
  it("reads name and phone separated by spaces, commas, tabs or semicolons", () => {
    const { recipients, bad } = parseRecipients(
      "张三 13800138000\n李四,13900139000\n王五\t13700137000\n赵六;13600136000",
    );
    expect(bad).toEqual([]);
    expect(recipients).toEqual([
      { name: "张三", phone: "13800138000" },
      { name: "李四", phone: "13900139000" },
      { name: "王五", phone: "13700137000" },
      { name: "赵六", phone: "13600136000" },
    ]);
  });

  it("reads what a Chinese keyboard types: full-width commas, spaces and digits", () => {
    const { recipients, bad } = parseRecipients(
      "张三，13800138000\n李四　13900139000\n王五、１３７００１３７０００\n赵六；＋8613600136000",
    );
    expect(bad).toEqual([]);
    expect(recipients).toEqual([
      { name: "张三", phone: "13800138000" },
      { name: "李四", phone: "13900139000" },
      { name: "王五", phone: "13700137000" },
      { name: "赵六", phone: "+8613600136000" },
    ]);
  });

  it("lists a name longer than the server's limit (warmlead-core's LIMITS) as bad", () => {
    const longest = "名".repeat(LIMITS.maxNameChars);
    const { recipients, bad } = parseRecipients(`${longest} 13800138000\n${longest}长 13900139000`);
    expect(recipients).toEqual([{ name: longest, phone: "13800138000" }]);
    expect(bad).toEqual([{ line: 2, text: `${longest}长 13900139000` }]);
  });

  it("accepts grouped numbers, the phone first, CRLF and blank lines", () => {
    const { recipients, lines, bad } = parseRecipients(
      "\r\n  张三 138 0013 8000  \r\n\r\n13900139000 李 四\r\n陈静, 139-0013-9001,\n",
    );
    expect(bad).toEqual([]);
    expect(recipients).toEqual([
      { name: "张三", phone: "13800138000" },
      { name: "李 四", phone: "13900139000" },
      { name: "陈静", phone: "13900139001" },
    ]);
    expect(lines).toEqual([2, 4, 5]);
  });

  it("returns lines without a name or a phone as bad, with their numbers", () => {
    const { recipients, bad } = parseRecipients(
      "这行不对\n13800138000\n张三 138\n,13900139000\n李四 13700137000",
    );
    expect(recipients).toEqual([{ name: "李四", phone: "13700137000" }]);
    expect(bad).toEqual([
      { line: 1, text: "这行不对" },
      { line: 2, text: "13800138000" },
      { line: 3, text: "张三 138" },
      { line: 4, text: ",13900139000" },
    ]);
  });

  it("keeps short wrong numbers for the server to refuse in words", () => {
    expect(parseRecipients("赵六,1234567").recipients).toEqual([{ name: "赵六", phone: "1234567" }]);
  });

  it("removes one recipient's line from the box", () => {
    expect(withoutLine("a 1\nb 2\nc 3", 2)).toBe("a 1\nc 3");
    expect(withoutLine("a 1\r\nb 2", 1)).toBe("b 2");
  });
});

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;
function inv(over: Partial<Invitation>): Invitation {
  return {
    id: 1,
    company_id: 1,
    rep_id: 2,
    channel: "qr",
    status: "pending",
    max_uses: 1,
    uses: 0,
    created_at_ms: NOW - HOUR,
    expires_at_ms: NOW + HOUR,
    url: "http://127.0.0.1:8787/i/x",
    short_code: "K7Q4M2",
    recipient_name: null,
    recipient_phone: null,
    ...over,
  };
}

describe("invitation status", () => {
  it("turns pending into expired at expires_at, like Invitation::status_at", () => {
    const i = inv({});
    expect(invitationStatusAt(i, NOW)).toBe("pending");
    expect(invitationStatusAt(i, NOW + HOUR - 1)).toBe("pending");
    expect(invitationStatusAt(i, NOW + HOUR)).toBe("expired");
    expect(canRevoke(i, NOW)).toBe(true);
    expect(canRevoke(i, NOW + HOUR)).toBe(false);
  });

  it("keeps accepted and revoked whatever the time", () => {
    expect(invitationStatusAt(inv({ status: "accepted", uses: 1 }), NOW + 9 * HOUR)).toBe("accepted");
    expect(invitationStatusAt(inv({ status: "revoked" }), NOW + 9 * HOUR)).toBe("revoked");
    expect(canRevoke(inv({ status: "accepted" }), NOW)).toBe(false);
    expect(canRevoke(inv({ status: "revoked" }), NOW)).toBe(false);
  });

  it("knows an invitation made on this computer that the server has not recorded", () => {
    expect(isUnsynced(inv({ id: -3 }))).toBe(true);
    expect(isUnsynced(inv({ id: 41 }))).toBe(false);
    expect(isUnsynced(inv({ id: -3, status: "revoked" }))).toBe(false);
  });

  it("shows uses against the limit", () => {
    expect(usesText(inv({ uses: 1 }), zh)).toBe("1/1");
    expect(usesText(inv({ max_uses: null, uses: 7 }), zh)).toBe("7/不限");
    expect(usesText(inv({ max_uses: null, uses: 7 }), en)).toBe("7/unlimited");
  });
});

function conv(invitations: number, accepted: number, partners = accepted): ChannelConversion {
  return { channel: "sms", invitations, accepted, partners, pending: 0, expired: 0, revoked: 0 };
}

describe("conversion", () => {
  it("is accepted invitations over invitations created", () => {
    expect(conversionRate(conv(120, 45))).toBe(0.375);
    expect(conversionRate(conv(8, 8, 63))).toBe(1);
    expect(conversionRate(conv(0, 0))).toBeNull();
  });

  it("is shown as a percentage by Intl, not concatenated", () => {
    expect(formatPercent(0.375, "zh-CN")).toBe("37.5%");
    expect(formatPercent(0.854166, "en")).toBe("85.4%");
    expect(formatPercent(1, "en")).toBe("100%");
    expect(formatPercent(0, "zh-CN")).toBe("0%");
    expect(formatPercent(null, "en")).toBe("—");
  });
});

const REFUSALS: Record<SmsRefusal, true> = {
  bad_phone: true,
  missing_name: true,
  name_too_long: true,
  text_too_long: true,
  opted_out: true,
  duplicate: true,
  daily_cap: true,
  repeated_in_request: true,
  already_partner: true,
};

function item(plan: SmsInviteItem["plan"], text: string | null = null): SmsInviteItem {
  return { name: "张三", phone: "13800138000", phone_e164: "+8613800138000", plan, text, sms_id: null };
}

describe("SMS plans in words", () => {
  it("words every refusal in both languages, distinctly", () => {
    for (const t of [zh, en]) {
      const texts = (Object.keys(REFUSALS) as SmsRefusal[]).map((r) => refusalText(r, t));
      for (const s of texts) expect(s.startsWith("invite."), s).toBe(false);
      expect(new Set(texts).size).toBe(texts.length);
    }
  });

  it("says send, queue until a local time, or refuse and why", () => {
    expect(smsPlanText(item({ plan: "send" }), NOW, zh)).toBe("立即发送");
    expect(smsPlanText(item({ plan: "refuse", reason: "opted_out" }), NOW, zh)).toBe(
      "不发送：对方回复过拒收，不再发送",
    );
    const eight = new Date(2026, 10, 24, 8, 0).getTime();
    const evening = new Date(2026, 10, 23, 22, 0).getTime();
    expect(smsPlanText(item({ plan: "queue", until_ms: eight }), evening, zh)).toBe(
      "免打扰时段，将在 2026-11-24 08:00 发送",
    );
    expect(smsPlanText(item({ plan: "queue", until_ms: eight }), evening, en)).toBe(
      "Quiet hours: sends at 2026-11-24 08:00",
    );
  });

  it("previews the text of the first message that goes out", () => {
    expect(
      sampleText([
        item({ plan: "refuse", reason: "bad_phone" }, null),
        item({ plan: "queue", until_ms: NOW }, "【暖居装修】… 拒收请回复R"),
      ]),
    ).toBe("【暖居装修】… 拒收请回复R");
    expect(sampleText([item({ plan: "refuse", reason: "duplicate" })])).toBeNull();
  });
});
