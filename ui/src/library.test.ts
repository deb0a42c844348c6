import { describe, expect, it } from "vitest";

import { emptyState } from "./library";

describe("the library's empty state", () => {
  it("says what hides the items: the search, the status, 我的, else nothing", () => {
    const cases: [Parameters<typeof emptyState>, string][] = [
      [[null, false, ""], "library.emptyTitle"],
      // A rep's default view: 我的 alone means they have written nothing.
      [[null, true, ""], "library.noMineTitle"],
      [["draft", true, ""], "library.noStatusTitle"],
      [["live", false, ""], "library.noStatusTitle"],
      [[null, true, "预算"], "library.noMatchTitle"],
      [["archived", false, " 预算 "], "library.noMatchTitle"],
      [[null, false, "   "], "library.emptyTitle"],
    ];
    for (const [args, title] of cases) {
      expect(emptyState(...args).title, JSON.stringify(args)).toBe(title);
    }
  });
});
