import { describe, expect, it } from "vitest";

import i18n from "./i18n";
import type { RejectedChange } from "./bindings";
import type { Translate } from "./format";
import { refusedShares, rejectionText } from "./rejections";

const tz: Translate = i18n.getFixedT("zh-CN");
const te: Translate = i18n.getFixedT("en");

function refused(name: string, code: RejectedChange["code"], subject: string | null): RejectedChange {
  return { mutation_id: `m-${name}`, name, subject, code, message: "server words", at_ms: 1 };
}

describe("rejection wording", () => {
  it("says which item a refused share was of, and why, in both languages", () => {
    const r = refused("create_share", "not_found", "装修避坑指南");
    const zh = rejectionText(r, tz);
    expect(zh.kind).toBe("分享");
    expect(zh.subject).toBe("装修避坑指南");
    expect(zh.reason).toContain("已下架");
    expect(zh.after).toBe("已在本机撤销。");
    const en = rejectionText(r, te);
    expect(en.reason).toContain("archived");
    expect(en.after).toBe("Undone on this computer.");
  });

  it("keeps a refused edit's text, words codes, and falls back to the server's message", () => {
    expect(rejectionText(refused("save_content", "forbidden", "春季"), te).after).toContain("kept");
    expect(rejectionText(refused("archive_content", "forbidden", null), tz).reason).toBe(
      "你的角色无权进行此操作。",
    );
    const later = rejectionText(refused("a_kind_added_later", "conflict", null), te);
    expect(later.kind).toBe("Change");
    expect(later.reason).toBe("server words");
  });

  it("lists only refused shares for the partner's shares", () => {
    const all = [refused("create_share", "not_found", "a"), refused("rename_self", "invalid_input", "b")];
    expect(refusedShares(all).map((r) => r.name)).toEqual(["create_share"]);
  });
});
