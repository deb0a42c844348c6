import { describe, expect, it } from "vitest";

import i18n, { resources } from "./i18n";

type Tree = { readonly [k: string]: string | Tree };

/** Every leaf key, with i18next's plural suffixes folded into one key. */
function keys(tree: Tree, prefix = ""): Set<string> {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "string") out.add(path.replace(/_(zero|one|two|few|many|other)$/, ""));
    else for (const sub of keys(v, path)) out.add(sub);
  }
  return out;
}

function placeholders(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "string") {
      const names = [...v.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
      out.set(path.replace(/_(zero|one|two|few|many|other)$/, ""), names.join(","));
    } else for (const [p, n] of placeholders(v, path)) out.set(p, n);
  }
  return out;
}

const zh = resources["zh-CN"].translation as Tree;
const en = resources.en.translation as Tree;

describe("i18n catalogue", () => {
  it("has every key in both languages", () => {
    const z = keys(zh);
    const e = keys(en);
    expect([...z].filter((k) => !e.has(k))).toEqual([]);
    expect([...e].filter((k) => !z.has(k))).toEqual([]);
    expect(z.size).toBeGreaterThan(50);
  });

  it("uses the same placeholders in both languages", () => {
    const z = placeholders(zh);
    const e = placeholders(en);
    const differ = [...z].filter(([k, names]) => e.get(k) !== names).map(([k]) => k);
    expect(differ).toEqual([]);
  });

  it("defaults to Chinese and switches to English", async () => {
    await i18n.changeLanguage("zh-CN");
    expect(i18n.t("section.briefcase")).toBe("公文包");
    await i18n.changeLanguage("en");
    expect(i18n.t("section.briefcase")).toBe("Briefcase");
    expect(i18n.t("sync.waiting", { count: 1 })).toBe("1 change waiting");
    expect(i18n.t("sync.waiting", { count: 3 })).toBe("3 changes waiting");
    await i18n.changeLanguage("zh-CN");
    expect(i18n.t("sync.waiting", { count: 3 })).toBe("3 条待同步");
  });
});
