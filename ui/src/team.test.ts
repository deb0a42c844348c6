import { describe, expect, it } from "vitest";

import type { TeamMember } from "./bindings";
import { matchesTeamSearch } from "./team";

function member(name: string, phone: string | null): TeamMember {
  return {
    user: {
      id: 1,
      company_id: 1,
      role: "rep",
      name,
      phone,
      rep_id: null,
      joined_at_ms: 0,
      source: null,
      invited_by: null,
      invitation_id: null,
    },
    deactivated_at_ms: null,
    devices: [],
    open_codes: [],
    partners: 0,
    leads: 0,
    shares_since: 0,
  };
}

describe("the team search", () => {
  const li = member("李明", "+8613900139000");
  const en = member("Amy Lee", null);
  it.each([
    [li, "", true],
    [li, "李", true],
    [li, "王", false],
    [li, "139 0013", true],
    [li, "139-0013-9000", true],
    [li, "+86 139", true],
    [li, "1380", false],
    [en, "amy", true],
    [en, "LEE", true],
    [en, "139", false],
  ] as const)("%o matches %s: %s", (m, q, want) => {
    expect(matchesTeamSearch(m, q)).toBe(want);
  });
});
