import { describe, expect, it } from "vitest";

import { keyTarget } from "./listNav";

describe("keyTarget", () => {
  it("moves by one and by ten, clamped to the list", () => {
    expect(keyTarget("ArrowDown", 0, 5)).toBe(1);
    expect(keyTarget("ArrowUp", 0, 5)).toBe(0);
    expect(keyTarget("ArrowDown", 4, 5)).toBe(4);
    expect(keyTarget("PageDown", 3, 50)).toBe(13);
    expect(keyTarget("PageUp", 3, 50)).toBe(0);
    expect(keyTarget("Home", 30, 50)).toBe(0);
    expect(keyTarget("End", 0, 50)).toBe(49);
  });

  it("ignores other keys and empty lists", () => {
    expect(keyTarget("a", 0, 5)).toBeNull();
    expect(keyTarget("Enter", 0, 5)).toBeNull();
    expect(keyTarget("ArrowDown", 0, 0)).toBeNull();
  });
});
